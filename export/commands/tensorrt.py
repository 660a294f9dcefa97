"""`python -m export tensorrt`: build (or find) the TensorRT engine of an ONNX model on this GPU, then exit.

Meant as the on-target build step: the engine goes into the engine cache that the runtime
reads (key = ONNX sha256 + TensorRT version + GPU name + compute capability + precision +
shape profile), with its sidecar; `--out` also copies it to a chosen `.engine` path.

UNVERIFIED: written without a GPU; the TensorRT calls are type-checked against tensorrt-stubs.

Examples:
    python -m export tensorrt --onnx artifacts/segformer.onnx --fp16
    python -m export tensorrt --onnx artifacts/segformer.onnx --int8 --calib-images data/calib \
        --min-shape 1x3x512x1024 --opt-shape 1x3x512x1024 --max-shape 4x3x512x1024 --workspace-gb 2
    python -m export tensorrt --onnx artifacts/erf_pspnet.onnx --fp16 --dla-core 0   # Jetson DLA
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from rain_seg_ros.artifact import load_artifact, write_artifact
from rain_seg_ros.backends.base import BackendError
from rain_seg_ros.backends.engine_cache import (
    BuildOptions,
    EngineCache,
    Environment,
    ShapeProfile,
    file_sha256,
    profile_for,
)


def parse_shape(text: str) -> tuple[int, ...]:
    """"1x3x512x1024" -> (1, 3, 512, 1024)."""
    try:
        shape = tuple(int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"shape {text!r} is not like 1x3x512x1024") from None
    if len(shape) != 4 or min(shape) < 1:
        raise argparse.ArgumentTypeError(f"shape {text!r} must be four positive sizes NxCxHxW")
    return shape


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m export tensorrt", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--onnx", required=True, type=Path, help="ONNX model with its sidecar")
    precision = parser.add_mutually_exclusive_group()
    precision.add_argument("--fp16", action="store_true", help="allow fp16 kernels")
    precision.add_argument("--int8", action="store_true",
                           help="int8 (+fp16) with calibration or a Q/DQ model")
    parser.add_argument("--calib-images", type=Path, help="folder of calibration images for --int8")
    parser.add_argument("--calib-max-images", type=int, default=512, help="default %(default)s")
    parser.add_argument("--qdq", action="store_true",
                        help="--int8 for an explicitly quantized (Q/DQ, e.g. ModelOpt) ONNX: no calibration")
    parser.add_argument("--min-shape", type=parse_shape, help="NxCxHxW; give all three or none")
    parser.add_argument("--opt-shape", type=parse_shape)
    parser.add_argument("--max-shape", type=parse_shape)
    parser.add_argument("--workspace-gb", type=float, default=4.0,
                        help="builder workspace (default %(default)s)")
    parser.add_argument("--dla-core", type=int, help="build for this DLA core (Jetson), GPU fallback on")
    parser.add_argument("--engine-cache-dir", type=Path, help="default ~/.cache/rain_seg_ros/engines")
    parser.add_argument("--device", default="cuda:0", help="CUDA device to build for (default %(default)s)")
    parser.add_argument("--out", type=Path,
                        help="also copy the engine (and its sidecar) to this .engine path")
    return parser


def options_from_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> BuildOptions:
    """Validate argument combinations and turn them into BuildOptions (parser.error on bad input)."""
    if not args.onnx.is_file():
        parser.error(f"--onnx {args.onnx} does not exist")
    shapes = (args.min_shape, args.opt_shape, args.max_shape)
    if any(shapes) and not all(shapes):
        parser.error("give --min-shape, --opt-shape and --max-shape together")
    if args.int8 and not (args.calib_images or args.qdq):
        parser.error("--int8 needs --calib-images DIR (or --qdq for a Q/DQ-quantized ONNX)")
    if args.calib_images and not args.int8:
        parser.error("--calib-images only makes sense with --int8")
    if args.calib_images and not args.calib_images.is_dir():
        parser.error(f"--calib-images {args.calib_images} is not a folder")
    if args.dla_core is not None and not (args.fp16 or args.int8):
        parser.error("--dla-core needs --fp16 or --int8 (DLA has no fp32)")
    if args.out is not None and args.out.suffix != ".engine":
        parser.error("--out must end in .engine")
    if not args.device.startswith("cuda"):
        parser.error("--device must be cuda or cuda:N")
    try:
        profile = ShapeProfile(*shapes) if all(shapes) else None
    except ValueError as exc:
        parser.error(str(exc))
    precision = "int8" if args.int8 else "fp16" if args.fp16 else "fp32"
    calibration_cache = None
    if args.calib_images:
        cache_dir = EngineCache(args.engine_cache_dir).cache_dir
        calibration_cache = str(cache_dir / f"{args.onnx.stem}-{file_sha256(args.onnx)[:16]}.calib")
    try:
        return BuildOptions(precision=precision, profile=profile, workspace_gb=args.workspace_gb,
                            dla_core=args.dla_core, calibration_cache=calibration_cache)
    except ValueError as exc:
        parser.error(str(exc))


def build(args: argparse.Namespace, options: BuildOptions, environment: Environment,
          builder: Callable[[Path, BuildOptions], bytes]) -> Path:
    """Engine for (onnx, options, environment) from the cache or `builder`; copied to --out if given."""
    engine = EngineCache(args.engine_cache_dir).get_or_build(args.onnx, options, environment, builder)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(engine, args.out)
        write_artifact(load_artifact(engine), args.out)
    return args.out or engine


def main(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    options = options_from_args(parser, args)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from rain_seg_ros.backends.tensorrt_build import build_serialized_engine, probe_environment
    from rain_seg_ros.backends.tensorrt_calibration import CalibrationBatches, make_entropy_calibrator

    index = int(args.device.partition(":")[2] or 0)
    try:
        environment = probe_environment(index)
    except BackendError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    def builder(onnx: Path, opts: BuildOptions) -> bytes:
        calibrator = None
        if opts.calibration_cache:
            artifact = load_artifact(onnx)
            # TensorRT calibrates dynamic-shape networks at the calibration profile's opt shape
            batch = (opts.profile or profile_for(artifact)).opt[0]
            batches = CalibrationBatches(args.calib_images, artifact, batch, args.calib_max_images)
            calibrator = make_entropy_calibrator(batches, Path(opts.calibration_cache), device=args.device)
        timing = EngineCache(args.engine_cache_dir).cache_dir / "timing.cache"
        return build_serialized_engine(onnx, opts, calibrator=calibrator, timing_cache=timing)

    path = build(args, options, environment, builder)
    key = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    print(f"{path}  (engine sha256 {key}, {environment.gpu_name}, TensorRT {environment.tensorrt_version})")
    return 0
