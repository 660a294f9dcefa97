"""`python -m export onnx`: checkpoint -> ONNX model(s) + sidecar JSON.

Segmenters give one `FILE.onnx`: uint8 image in, class ids and confidence out, normalisation,
argmax and max-softmax inside (docs/export.md, the contract; --float-logits for the bare
network). A DSANet checkpoint gives `FILE.onnx` (encoder -> code swap -> generator as one
graph) and `FILE_rain_bank.safetensors` (its rain-code bank). A CycleGAN checkpoint with
`--direction` gives one generator (with `--segmenter`, generator and segmenter as one
segmentation graph). A condition estimator gives one `FILE.onnx`.

Example:
    python -m export onnx --checkpoint runs/segformer --out artifacts/segformer.onnx \
        --height 256 --width 512 --dynamic-batch
"""

from __future__ import annotations

import argparse
import logging
import sys

from export.targets import export_checkpoint
from export.to_onnx import DEFAULT_OPSET
from rain_seg_ros.artifact import ArtifactError
from training.engine.checkpoint import CheckpointError

# bad input the user can fix (wrong path, wrong checkpoint kind, conflicting sidecar): one line, no traceback
EXPORT_ERRORS = (CheckpointError, ArtifactError, FileNotFoundError, ValueError)


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments shared by the onnx and pt2 commands."""
    parser.add_argument("--checkpoint", required=True, help="run dir, step dir or model.safetensors")
    parser.add_argument("--height", type=int,
                        help="model input height (default: the checkpoint's input_size)")
    parser.add_argument("--width", type=int,
                        help="model input width (default: the checkpoint's input_size)")
    parser.add_argument("--dynamic-batch", action="store_true", help="export with a dynamic batch axis")
    parser.add_argument("--float-logits", action="store_true",
                        help="segmenters: export the bare network (normalised float32 in, logits out) "
                             "instead of the graph with uint8 ids/confidence out; for backends that "
                             "cannot run that graph yet")
    parser.add_argument("--rain-bank", help="DSANet only: rain-code bank from `python -m training rainify` "
                                            "(default: rain_bank.safetensors next to the checkpoint)")


def check_size(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    for name in ("height", "width"):
        value = getattr(args, name)
        if value is not None and value < 8:
            parser.error(f"--{name} must be at least 8, got {value}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m export onnx", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(parser)
    parser.add_argument("--out", required=True, help="output .onnx path")
    parser.add_argument("--opset", type=int, default=DEFAULT_OPSET, help="ONNX opset (default %(default)s)")
    parser.add_argument("--direction", choices=("night2day", "day2night"),
                        help="CycleGAN only: export F (night2day) or G (day2night)")
    parser.add_argument("--segmenter", help="CycleGAN only: a segmenter checkpoint run after the generator "
                                            "in the same graph (Method 1 in one inference call)")
    args = parser.parse_args(argv)
    check_size(parser, args)
    if not args.out.endswith(".onnx"):
        parser.error("--out must end in .onnx")
    if not 17 <= args.opset <= 23:
        parser.error(f"--opset must be between 17 and 23, got {args.opset}")
    from export.cyclegan_target import is_cyclegan, write_cyclegan_onnx

    if args.direction is None and (args.segmenter or is_cyclegan(args.checkpoint)):
        parser.error("a CycleGAN checkpoint needs --direction night2day or day2night")
    if args.direction is not None:
        try:
            written = write_cyclegan_onnx(args.checkpoint, args.out, args.direction, args.height, args.width,
                                          dynamic_batch=args.dynamic_batch, segmenter=args.segmenter,
                                          opset=args.opset)
        except EXPORT_ERRORS as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(written)
        return 0
    return run_export(args, opset=args.opset)


def run_export(args: argparse.Namespace, opset: int | None = None) -> int:
    """Export the checkpoint to args.out (.onnx or .pt2), print the files; 2 on fixable input errors."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        written = export_checkpoint(args.checkpoint, args.out, args.height, args.width,
                                    dynamic_batch=args.dynamic_batch, opset=opset, rain_bank=args.rain_bank,
                                    float_logits=args.float_logits)
    except EXPORT_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0
