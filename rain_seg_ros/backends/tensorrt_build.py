"""Build a TensorRT engine from ONNX with the TensorRT 10 builder API, strongly typed.

ONNX parser into a STRONGLY_TYPED network (precision comes from the graph: fp32, fp16 or
ModelOpt Q/DQ int8, see tensorrt_precision; no BuilderFlag.FP16/INT8 and no implicit INT8
calibrator, which TensorRT 10 deprecates and 11 removes) -> builder config (workspace pool
limit, timing cache, DLA) -> optimization profile -> serialized engine, all on the chosen
CUDA device. Used by `python -m export tensorrt` on the target and by the runtime when a
cached engine is stale.

UNVERIFIED: written and type-checked against tensorrt-stubs 10.13 only; no GPU was
available where it was written. `tensorrt` is imported inside the functions, so this module
imports on machines without it.

Example:
    data = build_serialized_engine(Path("seg.fp16.onnx"), BuildOptions(precision="fp16"),
                                   timing_cache=Path("timing-trt10.13-Orin-sm8.7.cache"), device_index=0)
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rain_seg_ros.backends.base import BackendError
from rain_seg_ros.backends.engine_cache import (
    BuildOptions,
    Environment,
    input_profiles,
    profile_for,
    write_atomic,
)

log = logging.getLogger(__name__)


def require_tensorrt() -> None:
    """Raise BackendError unless the real TensorRT imports; a stubs-only install does not count.

    Callers then `import tensorrt as trt` themselves, so mypy checks their calls against the stubs.
    """
    try:
        import tensorrt as trt
    except ImportError as exc:
        raise BackendError("TensorRT is not installed (pip install tensorrt, or use the JetPack one); "
                           "use backend='onnxruntime' or 'torch' on this machine") from exc
    if not hasattr(trt, "Builder"):
        raise BackendError("only TensorRT type stubs are installed here, not TensorRT itself; "
                           "use backend='onnxruntime' or 'torch' on this machine")


def cuda_index(device: str) -> int:
    """"cuda" -> 0, "cuda:N" -> N; BackendError for anything else."""
    match = re.fullmatch(r"cuda(?::(\d+))?", device)
    if match is None:
        raise BackendError(f"TensorRT runs on CUDA devices: device must be cuda or cuda:N, got {device!r}")
    return int(match.group(1) or 0)


@contextmanager
def on_device(index: int) -> Iterator[None]:
    """Make CUDA device `index` current for TensorRT calls inside the block.

    TensorRT builds, deserializes and creates contexts on the calling thread's current CUDA
    device (cudaSetDevice); without this everything but torch's own buffers lands on device 0.
    """
    import torch

    torch.cuda.set_device(index)
    with torch.cuda.device(index):
        yield


def probe_environment(device_index: int = 0) -> Environment:
    """TensorRT version, GPU name and compute capability of CUDA device `device_index`."""
    require_tensorrt()
    import tensorrt as trt
    import torch

    if not torch.cuda.is_available():
        raise BackendError("TensorRT needs a CUDA GPU, and torch.cuda.is_available() is False")
    major, minor = torch.cuda.get_device_capability(device_index)
    return Environment(tensorrt_version=str(trt.__version__),
                       gpu_name=torch.cuda.get_device_name(device_index),
                       compute_capability=f"{major}.{minor}")


def build_serialized_engine(onnx_path: Path, options: BuildOptions, timing_cache: Path | None = None,
                            device_index: int = 0) -> bytes:
    """Parse `onnx_path` into a strongly typed network and build a serialized engine.

    Args:
        onnx_path: the graph, already in the precision wanted (tensorrt_precision.graph_for_precision);
            its sidecar gives the input names and default profile.
        options: precision (checked against the graph), shape profile, workspace, DLA core.
        timing_cache: this GPU's and TensorRT's timing cache (engine_cache.timing_cache_path),
            read before and rewritten atomically after the build, so rebuilds skip tactic timing.
        device_index: CUDA device the engine is built for.
    Returns:
        The serialized engine bytes.
    """
    from rain_seg_ros.artifact import load_artifact
    from rain_seg_ros.backends.tensorrt_precision import graph_precision

    require_tensorrt()
    import tensorrt as trt

    artifact = load_artifact(onnx_path)
    precision = graph_precision(onnx_path)
    if precision != options.precision:
        raise BackendError(f"{onnx_path} is an {precision} graph but an {options.precision} engine was asked "
                           f"for; strongly typed engines take their precision from the graph")
    profile_shapes = options.profile or profile_for(artifact)
    shapes = input_profiles(artifact, profile_shapes)      # every input, e.g. DSANet's image + code + t
    with on_device(device_index):
        logger = trt.Logger(trt.Logger.WARNING)
        builder = trt.Builder(logger)
        network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED))
        parser = trt.OnnxParser(network, logger)
        if not parser.parse_from_file(str(onnx_path)):
            errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
            raise BackendError(f"TensorRT could not parse {onnx_path}: {errors}")

        config = builder.create_builder_config()
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(options.workspace_gb * (1 << 30)))
        cache_bytes = b""
        if timing_cache is not None and timing_cache.is_file():
            cache_bytes = timing_cache.read_bytes()
        # ignore_mismatch=False: the file is per GPU and TensorRT version, a mismatch is a bug to see
        config.set_timing_cache(config.create_timing_cache(cache_bytes), False)
        profile = builder.create_optimization_profile()
        for name, shape in shapes.items():
            profile.set_shape(name, trt.Dims(list(shape.min)), trt.Dims(list(shape.opt)),
                              trt.Dims(list(shape.max)))
        config.add_optimization_profile(profile)
        if options.dla_core is not None:
            if options.dla_core >= builder.num_DLA_cores:
                raise BackendError(f"DLA core {options.dla_core} asked for; this device has "
                                   f"{builder.num_DLA_cores}")
            config.default_device_type = trt.DeviceType.DLA
            config.DLA_core = options.dla_core
            config.set_flag(trt.BuilderFlag.GPU_FALLBACK)

        log.info("building strongly typed TensorRT %s engine for %s on cuda:%d (profile %s)", precision,
                 onnx_path.name, device_index, profile_shapes)
        serialized = builder.build_serialized_network(network, config)
        if serialized is None:
            raise BackendError(f"TensorRT failed to build an engine for {onnx_path} "
                               f"(see the TensorRT log above)")
        if timing_cache is not None:
            write_atomic(timing_cache, bytes(memoryview(config.get_timing_cache().serialize())))
    return bytes(memoryview(serialized))
