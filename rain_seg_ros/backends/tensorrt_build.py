"""Build a TensorRT engine from ONNX with the TensorRT 10 builder API.

ONNX parser -> builder config (workspace pool limit, timing cache, precision flags, INT8
calibrator or ModelOpt QDQ graph, DLA) -> optimization profile -> serialized engine. Used by
`python -m export tensorrt` on the target and by the runtime when a cached engine is stale.

UNVERIFIED: written and type-checked against tensorrt-stubs 10.13 only; no GPU was
available where it was written. `tensorrt` is imported inside the functions, so this module
imports on machines without it.

Example:
    data = build_serialized_engine(Path("seg.onnx"), BuildOptions(precision="fp16"),
                                   timing_cache=Path("~/.cache/rain_seg_ros/timing.cache"))
"""

from __future__ import annotations

import logging
from pathlib import Path

from rain_seg_ros.backends.base import BackendError
from rain_seg_ros.backends.engine_cache import BuildOptions, Environment, profile_for

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


def build_serialized_engine(onnx_path: Path, options: BuildOptions, calibrator: object | None = None,
                            timing_cache: Path | None = None) -> bytes:
    """Parse `onnx_path` and build a serialized engine.

    Args:
        onnx_path: the ONNX model (its sidecar gives the input name and default profile).
        options: precision, shape profile, workspace, DLA core.
        calibrator: a trt.IInt8Calibrator for implicit INT8 (see tensorrt_calibration); None
            with precision "int8" expects an explicitly quantized (QDQ, e.g. ModelOpt) ONNX.
        timing_cache: file read before and written after the build, so rebuilds of similar
            networks on this GPU skip tactic timing.
    Returns:
        The serialized engine bytes.
    """
    from rain_seg_ros.artifact import load_artifact

    require_tensorrt()
    import tensorrt as trt

    artifact = load_artifact(onnx_path)
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)  # TensorRT 10: explicit batch is the only mode, no flag needed
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "\n".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise BackendError(f"TensorRT could not parse {onnx_path}:\n{errors}")

    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(options.workspace_gb * (1 << 30)))
    cache_bytes = timing_cache.read_bytes() if timing_cache is not None and timing_cache.is_file() else b""
    config.set_timing_cache(config.create_timing_cache(cache_bytes), False)

    if options.precision in ("fp16", "int8"):
        config.set_flag(trt.BuilderFlag.FP16)  # int8 engines keep fp16 for layers without int8 kernels
    profile_shapes = options.profile or profile_for(artifact)
    profile = builder.create_optimization_profile()
    profile.set_shape(artifact.input.name, trt.Dims(list(profile_shapes.min)),
                      trt.Dims(list(profile_shapes.opt)), trt.Dims(list(profile_shapes.max)))
    config.add_optimization_profile(profile)
    if options.precision == "int8":
        config.set_flag(trt.BuilderFlag.INT8)
        if calibrator is not None:
            if not isinstance(calibrator, trt.IInt8Calibrator):
                raise TypeError(f"calibrator must be a tensorrt.IInt8Calibrator, got {type(calibrator)}")
            config.int8_calibrator = calibrator
            config.set_calibration_profile(profile)
        else:
            log.info("int8 without a calibrator: expecting Q/DQ nodes (explicit quantization) in %s",
                     onnx_path)
    if options.dla_core is not None:
        if options.dla_core >= builder.num_DLA_cores:
            raise BackendError(f"DLA core {options.dla_core} asked for; this device has "
                               f"{builder.num_DLA_cores}")
        config.default_device_type = trt.DeviceType.DLA
        config.DLA_core = options.dla_core
        config.set_flag(trt.BuilderFlag.GPU_FALLBACK)

    log.info("building TensorRT %s engine for %s (profile %s)", options.precision, onnx_path.name,
             profile_shapes)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise BackendError(f"TensorRT failed to build an engine for {onnx_path} (see the TensorRT log above)")
    if timing_cache is not None:
        timing_cache.parent.mkdir(parents=True, exist_ok=True)
        timing_cache.write_bytes(bytes(memoryview(config.get_timing_cache().serialize())))
    return bytes(memoryview(serialized))
