"""`python -m export torch-tensorrt`: compile a segmenter with torch-tensorrt (dynamo) and save it.

The result is a torch.export program with embedded TensorRT engines (`.pt2`) plus the usual
sidecar; the runtime's `torch` backend loads it (it imports torch_tensorrt first when the
sidecar says so). Like any TensorRT engine it only runs on the GPU model it was built for.

With `--max-batch N > 1` the batch axis stays dynamic through compile AND save: the engine
gets the profile `Input(min, opt, max)` and the saved program the matching
`torch.export.Dim` (saving with only an example tensor would re-trace a static batch).
Precision is explicit typing (torch_tensorrt 2.x `use_explicit_typing=True`; its
`enabled_precisions` is deprecated): `--fp16` casts the model's float weights to float16.

The compiled module is the deployed graph (export.graphs.SegmentationGraph), so its input is
what the sidecar says: uint8 (B, H, W, 3), dynamic batch, with the normalisation, argmax and
confidence inside the engine. TensorRT 10 takes UINT8 network inputs and outputs, converted
to/from float32 or float16 by a cast inside the network (tensorrt.DataType.UINT8 docs), and
torch_tensorrt.Input accepts dtype=torch.uint8 (its dtype enum has u8); with --fp16 the input
stays uint8 and only the float math is half. An older float-contract target keeps its float
(B, 3, H, W) input. UNVERIFIED on a GPU: whether TensorRT 10's uint8 cast also takes the
int64/int32 class ids (its Cast operator page says all type pairs; the DataType page says
uint8 converts only to/from float) is for the GPU check to show.

UNVERIFIED: written without a GPU or torch-tensorrt, against the torch_tensorrt 2.x docs
(compile(ir="dynamo", inputs, device, use_explicit_typing), save(output_format,
arg_inputs, dynamic_shapes, retrace)); the settings are unit-tested with a stand-in module
and the dynamic-shape spec against the real torch.export.

Example:
    python -m export torch-tensorrt --checkpoint runs/segformer --out artifacts/segformer_trt.pt2 \
        --height 512 --width 1024 --fp16
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from export.commands.onnx import check_size
from rain_seg_ros.artifact import Artifact


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


def trt_settings(torch_tensorrt: ModuleType, artifact: Artifact, max_batch: int, fp16: bool,
                 device: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Keyword arguments for torch_tensorrt.compile and torch_tensorrt.save.

    The input is the sidecar's: uint8 (B, H, W, 3) for the ids_confidence_u8 graph (whatever
    the precision), float (B, 3, H, W) for a float-contract target. The batch axis is dynamic
    (1..max_batch) in both; the example input saved with the program has batch 2 when dynamic,
    as torch.export specialises an axis whose example size is 1.
    """
    import torch

    spec_in = artifact.input
    if any(not isinstance(d, int) for d in spec_in.shape[1:]):
        raise ValueError(f"input {spec_in.name} {spec_in.shape}: only the batch axis may be dynamic")
    rest = tuple(int(d) for d in spec_in.shape[1:])
    if spec_in.dtype == "uint8":
        dtype = torch.uint8
    else:
        dtype = torch.float16 if fp16 else torch.float32
    spec = torch_tensorrt.Input(min_shape=(1, *rest), opt_shape=(1, *rest), max_shape=(max_batch, *rest),
                                dtype=dtype)
    compile_kwargs = {"ir": "dynamo", "inputs": [spec], "device": device, "use_explicit_typing": True}
    example = torch.zeros(min(max_batch, 2), *rest, dtype=dtype, device=device)
    save_kwargs: dict[str, Any] = {"output_format": "exported_program", "arg_inputs": [example]}
    if max_batch > 1:
        save_kwargs["dynamic_shapes"] = ({0: torch.export.Dim("batch", min=1, max=max_batch)},)
        save_kwargs["retrace"] = True
    return compile_kwargs, save_kwargs


def main(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    check_size(parser, args)
    if args.out.suffix != ".pt2":
        parser.error("--out must end in .pt2")
    if args.max_batch < 1:
        parser.error("--max-batch must be >= 1")
    from rain_seg_ros.backends.base import BackendError
    from rain_seg_ros.backends.tensorrt_build import cuda_index

    try:
        cuda_index(args.device)
    except BackendError as exc:
        parser.error(f"--device: {exc}")
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
    model = target.module.to(device=args.device, dtype=torch.float16 if args.fp16 else torch.float32).eval()
    compile_kwargs, save_kwargs = trt_settings(torch_tensorrt, target.artifact, args.max_batch, args.fp16,
                                               args.device)
    with torch.cuda.device(torch.device(args.device)):
        compiled = torch_tensorrt.compile(model, **compile_kwargs)
    artifact = merge_sidecar(target.artifact, args.out)
    artifact.extra["torch_tensorrt"] = {"precision": "fp16" if args.fp16 else "fp32",
                                        "gpu": torch.cuda.get_device_name(args.device)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with torch.cuda.device(torch.device(args.device)):
        torch_tensorrt.save(compiled, str(args.out), **save_kwargs)
    write_artifact(artifact, args.out)
    print(args.out)
    return 0
