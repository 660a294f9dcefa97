"""`python -m export tensorrt`: build (or find) the TensorRT engine of an ONNX model on this GPU, then exit.

Meant as the on-target build step: the engine goes into the engine cache that the runtime
reads (key = graph sha256 + TensorRT version + GPU name + compute capability + precision +
shape profile + calibration data sha256), with its sidecar; `--out` also copies it to a
chosen `.engine` path, with the graph it was built from next to it so any GPU can rebuild it.

Engines are strongly typed: the precision is in the graph. `--fp16` writes `NAME.fp16.onnx`
(onnxconverter-common float16, input and output types kept: uint8 stays uint8) next to the
ONNX; `--int8 --calib-images DIR` runs NVIDIA ModelOpt's ONNX PTQ on those images, prepared
as the graph takes them (uint8 NHWC for uint8 graphs), and writes the Q/DQ graph
`NAME.int8.onnx`, whose sidecar records the calibration data's sha256; `--qdq`
builds an ONNX that is already Q/DQ-quantized.

UNVERIFIED: written without a GPU; the TensorRT calls are type-checked against tensorrt-stubs.

Examples:
    python -m export tensorrt --onnx artifacts/segformer.onnx --fp16
    python -m export tensorrt --onnx artifacts/segformer.onnx --int8 --calib-images data/calib \
        --min-shape 1x512x1024x3 --opt-shape 1x512x1024x3 --max-shape 4x512x1024x3 --workspace-gb 2
    python -m export tensorrt --onnx artifacts/erf_pspnet.onnx --fp16 --dla-core 0   # Jetson DLA
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import shutil
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from rain_seg_ros.artifact import ArtifactError, load_artifact, sidecar_path, write_artifact
from rain_seg_ros.backends.base import BackendError
from rain_seg_ros.backends.engine_cache import (
    BuildOptions,
    EngineCache,
    Environment,
    ShapeProfile,
    input_profiles,
    timing_cache_path,
)
from rain_seg_ros.backends.tensorrt_build import cuda_index
from rain_seg_ros.backends.tensorrt_precision import derived_graph_path, graph_for_precision, graph_precision

# input the user can fix (missing library, no images, too many images): one line, no traceback
BUILD_ERRORS = (BackendError, ArtifactError, FileNotFoundError, ValueError)


def parse_shape(text: str) -> tuple[int, ...]:
    """"1x512x1024x3" -> (1, 512, 1024, 3)."""
    try:
        shape = tuple(int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"shape {text!r} is not like 1x512x1024x3") from None
    if len(shape) != 4 or min(shape) < 1:
        raise argparse.ArgumentTypeError(f"shape {text!r} must be four positive sizes, the input's "
                                         f"(NxHxWx3 for uint8 graphs, NxCxHxW for float ones)")
    return shape


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m export tensorrt", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--onnx", required=True, type=Path, help="ONNX model with its sidecar")
    precision = parser.add_mutually_exclusive_group()
    precision.add_argument("--fp16", action="store_true", help="build from an fp16 copy of the graph")
    precision.add_argument("--int8", action="store_true",
                           help="build from a Q/DQ graph: ModelOpt calibration (--calib-images) or --qdq")
    parser.add_argument("--calib-images", type=Path, help="folder of calibration images for --int8")
    parser.add_argument("--calib-max-images", type=int, default=256,
                        help="use at most this many (held in memory at once; default %(default)s)")
    parser.add_argument("--qdq", action="store_true",
                        help="--int8 for an explicitly quantized (Q/DQ, e.g. ModelOpt) ONNX: no calibration")
    parser.add_argument("--min-shape", type=parse_shape,
                        help="the first input's shape: NxHxWx3 for uint8 graphs (NxCxHxW for float "
                             "exports); give all three or none")
    parser.add_argument("--opt-shape", type=parse_shape)
    parser.add_argument("--max-shape", type=parse_shape)
    parser.add_argument("--workspace-gb", type=float, default=4.0,
                        help="builder workspace (default %(default)s)")
    parser.add_argument("--dla-core", type=int, help="build for this DLA core (Jetson), GPU fallback on")
    parser.add_argument("--engine-cache-dir", type=Path, help="default ~/.cache/rain_seg_ros/engines")
    parser.add_argument("--device", default="cuda:0", help="CUDA device to build for (default %(default)s)")
    parser.add_argument("--out", type=Path, help="also copy the engine, its sidecar and the graph it "
                                                 "was built from to this .engine path's folder")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
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
    if args.calib_images and args.qdq:
        parser.error("give --calib-images (calibrate here) or --qdq (already quantized), not both")
    if args.qdq and graph_precision(args.onnx) != "int8":
        parser.error(f"--qdq: {args.onnx} has no QuantizeLinear/DequantizeLinear nodes; "
                     f"calibrate it with --calib-images DIR")
    if args.calib_max_images < 1:
        parser.error("--calib-max-images must be >= 1")
    if args.calib_images and not args.calib_images.is_dir():
        parser.error(f"--calib-images {args.calib_images} is not a folder")
    if args.dla_core is not None and not (args.fp16 or args.int8):
        parser.error("--dla-core needs --fp16 or --int8 (DLA has no fp32)")
    if args.out is not None and args.out.suffix != ".engine":
        parser.error("--out must end in .engine")
    try:
        cuda_index(args.device)
    except BackendError as exc:
        parser.error(f"--device: {exc}")
    try:
        profile = ShapeProfile(*shapes) if all(shapes) else None
        if profile is not None:
            input_profiles(load_artifact(args.onnx), profile)    # fits the graph's input, or one line
    except ValueError as exc:     # ArtifactError is a ValueError
        parser.error(f"--min/--opt/--max-shape: {exc}")
    precision = "int8" if args.int8 else "fp16" if args.fp16 else "fp32"
    try:
        return BuildOptions(precision=precision, profile=profile, workspace_gb=args.workspace_gb,
                            dla_core=args.dla_core)
    except ValueError as exc:
        parser.error(str(exc))


def prepare_graph(args: argparse.Namespace, options: BuildOptions, device_index: int) -> Path:
    """The graph the engine is built from, in the asked precision, written next to --onnx."""
    from rain_seg_ros.backends.tensorrt_calibration import CalibrationBatches, write_int8_graph

    if options.precision == "int8" and args.calib_images:
        batches = CalibrationBatches(args.calib_images, load_artifact(args.onnx), batch_size=1,
                                     max_images=args.calib_max_images)
        return write_int8_graph(args.onnx, batches, derived_graph_path(args.onnx, "int8", args.onnx.parent),
                                device_index=device_index)
    return graph_for_precision(args.onnx, options.precision, args.onnx.parent)


def ship(engine: Path, graph: Path, out: Path) -> None:
    """Copy the engine and its sidecar to `out`, and the graph + sidecar next to it (for rebuilds)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(engine, out)
    write_artifact(load_artifact(engine), out)
    if graph.parent.resolve() != out.parent.resolve():
        shutil.copyfile(graph, out.parent / graph.name)
        shutil.copyfile(sidecar_path(graph), sidecar_path(out.parent / graph.name))


def build(args: argparse.Namespace, graph: Path, options: BuildOptions, environment: Environment,
          builder: Callable[[Path, BuildOptions], bytes]) -> Path:
    """Engine for (graph, options, environment) from the cache or `builder`; shipped to --out if given."""
    options = replace(options, precision=graph_precision(graph))
    engine = EngineCache(args.engine_cache_dir).get_or_build(graph, options, environment, builder)
    if args.out is not None:
        ship(engine, graph, args.out)
    return args.out or engine


def main(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    options = options_from_args(parser, args)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from rain_seg_ros.backends.tensorrt_build import build_serialized_engine, probe_environment

    index = cuda_index(args.device)
    try:
        environment = probe_environment(index)
        graph = prepare_graph(args, options, index)

        def builder(onnx: Path, opts: BuildOptions) -> bytes:
            timing = timing_cache_path(EngineCache(args.engine_cache_dir).cache_dir, environment)
            return build_serialized_engine(onnx, opts, timing_cache=timing, device_index=index)

        path = build(args, graph, options, environment, builder)
    except BUILD_ERRORS as exc:
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2
    key = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    print(f"{path}  (engine sha256 {key}, {environment.gpu_name}, TensorRT {environment.tensorrt_version})")
    return 0
