"""TensorRT runner: cached engine (rebuilt from ONNX when stale), one CUDA stream, buffers allocated once.

Opened from `name.onnx` (the engine comes from the cache, built strongly typed on first use
from the graph of the asked precision: tensorrt_precision) or from an `name.engine` written
by `python -m export tensorrt` (its sidecar records the key it was built for; on another GPU
or TensorRT it is rebuilt from the graph it names, shipped next to it). Device memory, pinned
host staging and the stream come from torch.cuda, so pycuda is not needed. Everything —
build, deserialization, execution context, buffers, inference — happens on the `cuda:N` asked.

UNVERIFIED on a GPU: no GPU was available where this was written. It is type-checked against
tensorrt-stubs (tests/rain_seg_ros/test_tensorrt_typecheck.py) and everything around it
(cache keys, hit/miss/stale, calibration batches) is unit-tested without TensorRT.

Example:
    with TensorRTBackend("seg.onnx", engine_cache_dir="~/.cache/rain_seg_ros/engines") as runner:
        logits = runner.infer(batch)
"""

from __future__ import annotations

import logging
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rain_seg_ros.artifact import load_artifact
from rain_seg_ros.backends.base import Backend, BackendError
from rain_seg_ros.backends.engine_cache import (
    BuildOptions,
    EngineCache,
    ShapeProfile,
    recorded_key,
    timing_cache_path,
)
from rain_seg_ros.backends.tensorrt_build import (
    build_serialized_engine,
    cuda_index,
    on_device,
    probe_environment,
    require_tensorrt,
)
from rain_seg_ros.backends.tensorrt_precision import graph_for_precision, graph_precision

if TYPE_CHECKING:
    import tensorrt
    import torch

log = logging.getLogger(__name__)


def _shape(dims: tensorrt.Dims) -> tuple[int, ...]:
    return tuple(int(dims[i]) for i in range(len(dims)))


def _options_from_record(build: dict) -> BuildOptions:
    profile = build.get("profile")
    return BuildOptions(precision=build["precision"],
                        profile=ShapeProfile(*(tuple(profile[k]) for k in ("min", "opt", "max")))
                        if profile else None,
                        workspace_gb=build["workspace_gb"], dla_core=build["dla_core"])


def resolve_engine(model_path: Path, device_index: int, engine_cache_dir: str | Path | None,
                   options: BuildOptions) -> Path:
    """A valid engine for this machine: from the cache for .onnx, checked (or rebuilt) for .engine."""
    from rain_seg_ros.backends.engine_cache import make_key

    environment = probe_environment(device_index)
    cache = EngineCache(engine_cache_dir)
    if model_path.suffix == ".engine":
        record = load_artifact(model_path).extra.get("tensorrt")
        if not record:
            raise BackendError(f"{model_path} has no TensorRT record in its sidecar; build it with "
                               f"python -m export tensorrt")
        # the graph it was built from, where it was built, else shipped next to the engine
        recorded = Path(record["onnx"])
        onnx_path = recorded if recorded.is_file() else model_path.parent / recorded.name
        options = _options_from_record(record["build"])
        if not onnx_path.is_file():
            if record["key"]["environment"] == asdict(environment):
                return model_path  # built for this GPU and TensorRT; the graph was not shipped
            raise BackendError(f"{model_path} was built for {record['key']['environment']}, this machine "
                               f"is {asdict(environment)}, and its ONNX ({recorded.name}) is missing "
                               f"for a rebuild")
        if recorded_key(model_path) == make_key(onnx_path, options, environment).as_dict():
            return model_path
        log.warning("%s does not match this machine or its ONNX: rebuilding from %s", model_path, onnx_path)
    else:
        onnx_path = graph_for_precision(model_path, options.precision, cache.cache_dir)
        options = replace(options, precision=graph_precision(onnx_path))

    def build(onnx: Path, opts: BuildOptions) -> bytes:
        timing = timing_cache_path(cache.cache_dir, environment)
        return build_serialized_engine(onnx, opts, timing_cache=timing, device_index=device_index)

    return cache.get_or_build(onnx_path, options, environment, build)


def open_engine(engine_path: Path, device_index: int) -> tuple[tensorrt.Runtime, tensorrt.ICudaEngine,
                                                                 tensorrt.IExecutionContext]:
    """Deserialize `engine_path` and create its execution context on CUDA device `device_index`."""
    require_tensorrt()
    import tensorrt as trt

    with on_device(device_index):
        runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
        engine = runtime.deserialize_cuda_engine(engine_path.read_bytes())
        if engine is None:
            raise BackendError(f"TensorRT could not deserialize {engine_path}; delete it to rebuild")
        context = engine.create_execution_context()
    return runtime, engine, context


class TensorRTBackend(Backend):
    """Runs a TensorRT engine for `model_path` (.onnx or .engine) on one CUDA device.

    Args:
        model_path: .onnx (engine built/cached) or .engine with its sidecar.
        device: "cuda" or "cuda:N".
        engine_cache_dir: engine cache directory (default ~/.cache/rain_seg_ros/engines).
        precision: for engines built from .onnx: "fp32", "fp16" (default; the ONNX is converted
            to an fp16 graph) or "int8" (needs the Q/DQ `name.int8.onnx` written by
            `python -m export tensorrt --int8`). An fp16 or Q/DQ ONNX builds in its own precision.
    """

    name = "tensorrt"

    def __init__(self, model_path: str | Path, device: str = "cuda",
                 engine_cache_dir: str | Path | None = None, precision: str = "fp16") -> None:
        super().__init__(model_path, device)
        index = cuda_index(device)
        if self.model_path.suffix not in (".onnx", ".engine"):
            raise BackendError(f"TensorRT opens .onnx or .engine files, got {self.model_path.name}")
        require_tensorrt()
        import tensorrt as trt
        import torch

        self._torch = torch
        self._device = torch.device("cuda", index)
        self.engine_path = resolve_engine(self.model_path, index, engine_cache_dir,
                                          BuildOptions(precision=precision))
        self._runtime, self._engine, self._context = open_engine(self.engine_path, index)
        names = [self._engine.get_tensor_name(i) for i in range(self._engine.num_io_tensors)]
        inputs = [n for n in names if self._engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        outputs = [n for n in names if self._engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT]
        if len(inputs) != 1 or not outputs:
            raise BackendError(f"expected one input and at least one output, engine has "
                               f"{inputs} -> {outputs}")
        self._input, self._output = inputs[0], outputs[0]
        # largest shapes of profile 0: allocate once, never per frame
        max_in = _shape(self._engine.get_tensor_profile_shape(self._input, 0)[2])
        self._context.set_input_shape(self._input, max_in)
        max_out = _shape(self._context.get_tensor_shape(self._output))
        self._max_batch = max_in[0]
        in_dtype, out_dtype = self._torch_dtype(self._input), self._torch_dtype(self._output)
        with on_device(index):
            self._stream = torch.cuda.Stream(self._device)
            self._in_buf = torch.empty(max_in, dtype=in_dtype, device=self._device)
            self._out_buf = torch.empty(max_out, dtype=out_dtype, device=self._device)
            # pinned staging both ways: pageable copies are synchronous and go through a bounce buffer
            self._host_in = torch.empty(max_in, dtype=in_dtype, pin_memory=True)
            self._host_out = torch.empty(max_out, dtype=out_dtype, pin_memory=True)
            self._context.set_tensor_address(self._input, int(self._in_buf.data_ptr()))
            self._context.set_tensor_address(self._output, int(self._out_buf.data_ptr()))
            self._unused_outputs = []  # extra outputs are not returned, but TensorRT still writes them
            for extra in outputs[1:]:
                buf = torch.empty(_shape(self._context.get_tensor_shape(extra)),
                                  dtype=self._torch_dtype(extra), device=self._device)
                self._unused_outputs.append(buf)
                self._context.set_tensor_address(extra, int(buf.data_ptr()))
        log.info("TensorRT engine %s on %s (max batch %d)", self.engine_path.name, self._device,
                 self._max_batch)

    def _torch_dtype(self, tensor: str) -> torch.dtype:
        import tensorrt as trt

        torch = self._torch
        table = {trt.DataType.FLOAT: torch.float32, trt.DataType.HALF: torch.float16,
                 trt.DataType.INT32: torch.int32, trt.DataType.INT64: torch.int64,
                 trt.DataType.INT8: torch.int8, trt.DataType.UINT8: torch.uint8,
                 trt.DataType.BOOL: torch.bool}
        dtype = self._engine.get_tensor_dtype(tensor)
        if dtype not in table:
            raise BackendError(f"unsupported TensorRT dtype {dtype} for {tensor}")
        return table[dtype]

    def _run(self, batch: np.ndarray) -> np.ndarray:
        torch = self._torch
        b = batch.shape[0]
        if b > self._max_batch:
            raise ValueError(f"batch {b} exceeds the engine profile's maximum {self._max_batch}")
        with torch.cuda.device(self._device):
            self._context.set_input_shape(self._input, tuple(batch.shape))
            out_shape = _shape(self._context.get_tensor_shape(self._output))
            n_in, n_out = int(np.prod(batch.shape)), int(np.prod(out_shape))
            # engines read/write densely packed tensors from the buffer start, so flat views suffice;
            # the previous frame's copies are finished (synchronize below), so staging is free
            staged = self._host_in.view(-1)[:n_in]
            staged.copy_(torch.from_numpy(batch).view(-1))
            with torch.cuda.stream(self._stream):
                self._in_buf.view(-1)[:n_in].copy_(staged, non_blocking=True)
                if not self._context.execute_async_v3(self._stream.cuda_stream):
                    raise BackendError("TensorRT execute_async_v3 failed")
                host = self._host_out.view(-1)[:n_out]
                host.copy_(self._out_buf.view(-1)[:n_out], non_blocking=True)
            self._stream.synchronize()
        return host.view(out_shape).numpy().copy()

    def close(self) -> None:
        for attr in ("_context", "_engine", "_runtime"):
            if hasattr(self, attr):
                delattr(self, attr)  # release in dependency order: context, engine, runtime
        super().close()
