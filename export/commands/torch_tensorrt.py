"""`python -m export torch-tensorrt`: compile a segmenter with torch-tensorrt (dynamo) and save it.

The result is a torch.export program with embedded TensorRT engines (`.pt2`) plus the usual
sidecar; the runtime's `torch` backend loads it (it imports torch_tensorrt first when the
sidecar says so). Like any TensorRT engine it only runs on the GPU model it was built for.

UNVERIFIED: written without a GPU or torch-tensorrt; the argument handling is unit-tested.

Example:
    python -m export torch-tensorrt --checkpoint runs/segformer --out artifacts/segformer_trt.pt2 \
        --height 512 --width 1024 --fp16
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from export.commands.onnx import check_size


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m export torch-tensorrt", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", required=True,
                        help="segmenter run dir, step dir or model.safetensors")
    parser.add_argument("--out", required=True, type=Path, help="output .pt2 path")
    parser.add_argument("--height", type=int)
    parser.add_argument("--width", type=int)
    parser.add_argument("--fp16", action="store_true", help="compile the model in float16")
    parser.add_argument("--max-batch", type=int, default=1, help="largest batch of the profile (default 1)")
    parser.add_argument("--device", default="cuda:0")
    return parser


def main(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    check_size(parser, args)
    if args.out.suffix != ".pt2":
        parser.error("--out must end in .pt2")
    if args.max_batch < 1:
        parser.error("--max-batch must be >= 1")
    if not args.device.startswith("cuda"):
        parser.error("--device must be cuda or cuda:N")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        import torch_tensorrt
    except ImportError:
        print("error: torch-tensorrt is not installed (pip install torch-tensorrt matching your torch "
              "and CUDA); it needs an NVIDIA GPU", file=sys.stderr)
        return 2
    import torch

    from export.sidecar import exporter_versions, merge_sidecar
    from export.targets import checkpoint_task, targets_from_checkpoint
    from rain_seg_ros.artifact import write_artifact

    if not torch.cuda.is_available():
        print("error: torch-tensorrt needs a CUDA GPU", file=sys.stderr)
        return 2
    if checkpoint_task(args.checkpoint) != "segmentation":
        parser.error("torch-tensorrt export is offered for segmenters only")
    (target,) = targets_from_checkpoint(args.checkpoint, args.height, args.width,
                                        dynamic_batch=args.max_batch > 1, exporter=exporter_versions())
    dtype = torch.float16 if args.fp16 else torch.float32
    model = target.module.to(device=args.device, dtype=dtype).eval()
    h, w = target.artifact.input_size
    spec = torch_tensorrt.Input(min_shape=(1, 3, h, w), opt_shape=(1, 3, h, w),
                                max_shape=(args.max_batch, 3, h, w), dtype=dtype)
    # explicit typing: the model and its input carry the precision (enabled_precisions is deprecated)
    compiled = torch_tensorrt.compile(model, ir="dynamo", inputs=[spec])
    example = torch.zeros(1, 3, h, w, dtype=dtype, device=args.device)
    artifact = merge_sidecar(target.artifact, args.out)
    artifact.extra["torch_tensorrt"] = {"precision": "fp16" if args.fp16 else "fp32",
                                        "gpu": torch.cuda.get_device_name(args.device)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch_tensorrt.save(compiled, str(args.out), output_format="exported_program", inputs=[example])
    write_artifact(artifact, args.out)
    print(args.out)
    return 0
