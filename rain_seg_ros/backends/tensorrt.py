"""TensorRT runner: cached engine (rebuilt from ONNX when stale), one CUDA stream, buffers allocated once.

Opened from `name.onnx` (the engine comes from the cache, built strongly typed on first use
from the graph of the asked precision: tensorrt_precision) or from an `name.engine` written
by `python -m export tensorrt` (its sidecar records the key it was built for; on another GPU
or TensorRT it is rebuilt from the graph it names, shipped next to it). Device memory, pinned
host staging and the stream come from torch.cuda, so pycuda is not needed. Everything —
build, deserialization, execution context, buffers, inference — happens on the `cuda:N` asked.

UNVERIFIED on a GPU: no GPU was available where this was written. It is type-checked against
tensorrt-stubs (tests/rain_seg_ros/test_tensorrt_without_gpu.py), everything around it
(cache keys, hit/miss/stale, calibration batches) is unit-tested without TensorRT, and the
binding of every input and output by name is run against a stand-in engine that reads and
writes the bound memory (tests/rain_seg_ros/test_tensorrt_runtime.py).

Example:
    with TensorRTBackend("seg.onnx", engine_cache_dir="~/.cache/rain_seg_ros/engines") as runner:
        mask, confidence = runner.run([images_u8])      # uint8 (B, H, W, 3) in
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


def allocate(shape: tuple[int, ...], dtype: torch.dtype, device: torch.device | None) -> torch.Tensor:
    """A buffer on CUDA `device`, or pinned host staging when `device` is None.

    Pinned, because a copy from pageable memory is synchronous and goes through a bounce buffer.
    """
    import torch

    if device is None:
        return torch.empty(shape, dtype=dtype, pin_memory=True)
    return torch.empty(shape, dtype=dtype, device=device)


class TensorRTBackend(Backend):
    """Runs a TensorRT engine for `model_path` (.onnx or .engine) on one CUDA device.

    Every input and output of the engine is bound by name (a uint8 `ids_confidence_u8` graph has
    `image` -> `mask`, `confidence`; the DSANet `image_u8` graph has three inputs), with the dtype
    the engine reports, which must be the sidecar's. Each tensor gets a device buffer and a pinned
    host staging buffer, allocated once at the largest shape of the engine's profile.

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
        modes = {n: self._engine.get_tensor_mode(n) for n in names}
        self._inputs = [t.name for t in self.artifact.inputs]          # sidecar order = run() order
        self._outputs = [n for n in names if modes[n] == trt.TensorIOMode.OUTPUT]
        engine_inputs = {n for n in names if modes[n] == trt.TensorIOMode.INPUT}
        wanted = {t.name for t in self.artifact.outputs}
        if engine_inputs != set(self._inputs) or not wanted <= set(self._outputs):
            raise BackendError(f"{self.engine_path.name} has inputs {sorted(engine_inputs)} and outputs "
                               f"{self._outputs}, its sidecar {self._inputs} -> "
                               f"{[t.name for t in self.artifact.outputs]}: delete the engine to rebuild it")
        self._check_dtypes()
        # largest shapes of profile 0: allocate once, never per frame
        self._max_shapes = {n: _shape(self._engine.get_tensor_profile_shape(n, 0)[2]) for n in self._inputs}
        for name, shape in self._max_shapes.items():
            self._context.set_input_shape(name, shape)
        self._max_batch = self._max_shapes[self._inputs[0]][0]
        with on_device(index):
            self._stream = torch.cuda.Stream(self._device)
            self._device_bufs: dict[str, torch.Tensor] = {}
            self._host_bufs: dict[str, torch.Tensor] = {}
            for name in names:   # every output is bound: TensorRT writes them all, wanted or not
                shape = _shape(self._context.get_tensor_shape(name))
                dtype = self._torch_dtype(name)
                self._device_bufs[name] = allocate(shape, dtype, self._device)
                self._host_bufs[name] = allocate(shape, dtype, None)
                self._context.set_tensor_address(name, int(self._device_bufs[name].data_ptr()))
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

    def _check_dtypes(self) -> None:
        """The engine's I/O dtypes must be the sidecar's: run() hands over arrays typed by the sidecar."""
        for spec in (*self.artifact.inputs, *self.artifact.outputs):
            engine_dtype = str(self._torch_dtype(spec.name)).removeprefix("torch.")
            if engine_dtype != spec.dtype:
                raise BackendError(f"{self.engine_path.name}: tensor {spec.name} is {engine_dtype} in the "
                                   f"engine but {spec.dtype} in its sidecar: delete the engine to rebuild it")

    def _run(self, batch: np.ndarray) -> np.ndarray:
        return self._run_outputs([batch], [self.artifact.output.name])[0]

    def _run_outputs(self, inputs: list[np.ndarray], names: list[str]) -> list[np.ndarray]:
        torch = self._torch
        for name, array in zip(self._inputs, inputs):
            limit = self._max_shapes[name]
            if array.ndim != len(limit) or any(s > m for s, m in zip(array.shape, limit)):
                raise ValueError(f"input {name} {tuple(array.shape)} exceeds the engine profile's "
                                 f"maximum {limit}")
        with torch.cuda.device(self._device):
            for name, array in zip(self._inputs, inputs):
                if not self._context.set_input_shape(name, tuple(array.shape)):
                    raise ValueError(f"input {name} {tuple(array.shape)} is outside the engine profile")
            # engines read/write densely packed tensors from the buffer start, so flat views suffice;
            # the previous frame's copies are finished (synchronize below), so staging is free
            with torch.cuda.stream(self._stream):
                for name, array in zip(self._inputs, inputs):
                    staged = self._host_bufs[name].view(-1)[:array.size]
                    staged.copy_(torch.from_numpy(array).view(-1))
                    self._device_bufs[name].view(-1)[:array.size].copy_(staged, non_blocking=True)
                if not self._context.execute_async_v3(self._stream.cuda_stream):
                    raise BackendError("TensorRT execute_async_v3 failed")
                results = []
                for name in names:     # only the outputs asked for come back to the host
                    shape = _shape(self._context.get_tensor_shape(name))
                    n = int(np.prod(shape))
                    host = self._host_bufs[name].view(-1)[:n]
                    host.copy_(self._device_bufs[name].view(-1)[:n], non_blocking=True)
                    results.append((host, shape))
            self._stream.synchronize()
        return [host.view(shape).numpy().copy() for host, shape in results]

    def close(self) -> None:
        for attr in ("_context", "_engine", "_runtime"):
            if hasattr(self, attr):
                delattr(self, attr)  # release in dependency order: context, engine, runtime
        super().close()
