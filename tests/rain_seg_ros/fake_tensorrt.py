"""Stand-ins for `tensorrt` and torch's CUDA device switching, recording what the code asks of them.

`FakeTensorRT` is a module-like object with the TensorRT 10 names the builder and runtime
use; every call is appended to `calls` together with the CUDA device that was current at
that moment (`DeviceTracker`), so tests can check flags, precision settings and devices
without NVIDIA's libraries. Install with `install(monkeypatch)`; `install_modelopt` does the
same for ModelOpt's ONNX quantizer. `FakeTensorRT.io` describes the engine a deserialization
returns (`FakeIO`), and `install_cuda_memory` puts the "device" buffers in host memory, so the
execution context reads its inputs from and writes its outputs to the addresses it was given.
"""

from __future__ import annotations

import contextlib
import ctypes
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


class DeviceTracker:
    """Replaces torch.cuda.set_device / torch.cuda.device: keeps the 'current device' in Python."""

    def __init__(self) -> None:
        self.current = 0

    def set_device(self, index: int) -> None:
        self.current = int(index)

    @contextlib.contextmanager
    def device(self, index: Any):
        previous, self.current = self.current, int(getattr(index, "index", index) or 0)
        try:
            yield
        finally:
            self.current = previous


class _Flags:
    def __init__(self, **values: int) -> None:
        for name, value in values.items():
            setattr(self, name, value)


@dataclass
class FakeIO:
    """One engine I/O tensor: `profile` (min, opt, max) for inputs, `shape_of(input shapes)` for outputs."""

    name: str
    dtype: str                                          # numpy name: "uint8", "float32", ...
    profile: tuple[tuple[int, ...], ...] | None = None
    shape_of: Callable[[dict[str, tuple[int, ...]]], tuple[int, ...]] | None = None


def _host_array(address: int, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    """The memory at `address` as a numpy array (the fake's "device" buffers are host memory)."""
    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    return np.frombuffer((ctypes.c_uint8 * nbytes).from_address(address), dtype=dtype).reshape(shape)


class FakeTensorRT(types.ModuleType):
    """The parts of `tensorrt` 10 that rain_seg_ros calls; `calls` is a list of (name, args, device)."""

    __version__ = "10.13.0"

    def __init__(self, tracker: DeviceTracker, timing_bytes: bytes = b"timing-v1",
                 engine_bytes: bytes = b"serialized-engine") -> None:
        super().__init__("tensorrt")
        self.calls: list[tuple[str, tuple, int]] = []
        self.tracker = tracker
        fake = self
        self.NetworkDefinitionCreationFlag = _Flags(EXPLICIT_BATCH=0, STRONGLY_TYPED=1)
        self.BuilderFlag = _Flags(FP16=0, INT8=1, GPU_FALLBACK=2, STRICT_TYPES=3)
        self.MemoryPoolType = _Flags(WORKSPACE=0)
        self.DeviceType = _Flags(GPU=0, DLA=1)
        self.TensorIOMode = _Flags(INPUT=1, OUTPUT=2)
        names = ("float32", "float16", "int8", "int32", "bool", "uint8", "int64")
        self.DataType = _Flags(FLOAT=0, HALF=1, INT8=2, INT32=3, BOOL=4, UINT8=5, INT64=6)
        dtype_code = {name: code for code, name in enumerate(names)}
        # the engine deserialization returns, and what it computes from its inputs (name -> array)
        self.io: list[FakeIO] = []
        self.compute: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]] = lambda inputs: {}

        def record(name: str, *args: Any) -> None:
            fake.calls.append((name, args, tracker.current))

        class Logger:
            WARNING = 2

            def __init__(self, severity: int = 2) -> None:
                record("Logger", severity)

        class TimingCache:
            def __init__(self, data: bytes) -> None:
                self.data = data

            def serialize(self) -> memoryview:
                return memoryview(timing_bytes)

        class Config:
            def __init__(self) -> None:
                self.flags: list[int] = []
                self.int8_calibrator = None
                self.default_device_type = 0
                self.DLA_core = -1
                self._timing: TimingCache | None = None

            def set_memory_pool_limit(self, pool: int, size: int) -> None:
                record("set_memory_pool_limit", pool, size)

            def create_timing_cache(self, data: bytes) -> TimingCache:
                record("create_timing_cache", bytes(data))
                return TimingCache(bytes(data))

            def set_timing_cache(self, cache: TimingCache, ignore_mismatch: bool) -> bool:
                self._timing = cache
                return True

            def get_timing_cache(self) -> TimingCache:
                return TimingCache(timing_bytes)

            def set_flag(self, flag: int) -> None:
                record("set_flag", flag)
                self.flags.append(flag)

            def add_optimization_profile(self, profile: Any) -> int:
                record("add_optimization_profile", profile.shapes)
                return 0

        class Profile:
            def __init__(self) -> None:
                self.shapes: dict[str, tuple] = {}

            def set_shape(self, name: str, lo: Any, opt: Any, hi: Any) -> None:
                self.shapes[name] = (tuple(lo), tuple(opt), tuple(hi))

        class Builder:
            num_DLA_cores = 0

            def __init__(self, logger: Logger) -> None:
                record("Builder")

            def create_network(self, flags: int = 0) -> object:
                record("create_network", flags)
                return object()

            def create_builder_config(self) -> Config:
                return Config()

            def create_optimization_profile(self) -> Profile:
                return Profile()

            def build_serialized_network(self, network: object, config: Config) -> memoryview:
                record("build_serialized_network", tuple(config.flags), config.int8_calibrator)
                return memoryview(engine_bytes)

        class OnnxParser:
            num_errors = 0

            def __init__(self, network: object, logger: Logger) -> None:
                pass

            def parse_from_file(self, path: str) -> bool:
                record("parse_from_file", Path(path).name)
                return True

        class Context:
            def __init__(self, io: list[FakeIO]) -> None:
                self.io = {t.name: t for t in io}
                self.shapes: dict[str, tuple[int, ...]] = {}
                self.addresses: dict[str, int] = {}

            def set_input_shape(self, name: str, shape: tuple[int, ...]) -> bool:
                record("set_input_shape", name, tuple(shape))
                lo, _, hi = self.io[name].profile or ((), (), ())
                inside = len(shape) == len(lo) and all(a <= s <= b for a, s, b in zip(lo, shape, hi))
                if inside:
                    self.shapes[name] = tuple(shape)
                return inside

            def get_tensor_shape(self, name: str) -> tuple[int, ...]:
                shape_of = self.io[name].shape_of
                return shape_of(self.shapes) if shape_of else self.shapes[name]

            def set_tensor_address(self, name: str, address: int) -> bool:
                record("set_tensor_address", name)
                self.addresses[name] = address
                return True

            def execute_async_v3(self, stream: int) -> bool:
                record("execute_async_v3", stream)
                inputs = {n: _host_array(self.addresses[n], self.shapes[n], t.dtype).copy()
                          for n, t in self.io.items() if t.profile is not None}
                for name, value in fake.compute(inputs).items():
                    out = self.io[name]
                    assert value.dtype == np.dtype(out.dtype), (name, value.dtype)
                    _host_array(self.addresses[name], self.get_tensor_shape(name), out.dtype)[...] = value
                return True

        class Engine:
            def __init__(self) -> None:
                self.io = list(fake.io)
                self.num_io_tensors = len(self.io)

            def get_tensor_name(self, index: int) -> str:
                return self.io[index].name

            def _tensor(self, name: str) -> FakeIO:
                return next(t for t in self.io if t.name == name)

            def get_tensor_mode(self, name: str) -> int:
                return fake.TensorIOMode.INPUT if self._tensor(name).profile else fake.TensorIOMode.OUTPUT

            def get_tensor_dtype(self, name: str) -> int:
                return dtype_code[self._tensor(name).dtype]

            def get_tensor_profile_shape(self, name: str, profile: int) -> tuple:
                return self._tensor(name).profile

            def create_execution_context(self) -> Context:
                record("create_execution_context")
                return Context(self.io)

        class Runtime:
            def __init__(self, logger: Logger) -> None:
                record("Runtime")

            def deserialize_cuda_engine(self, data: bytes) -> Engine:
                record("deserialize_cuda_engine", bytes(data))
                return Engine()

        self.Logger, self.Builder, self.OnnxParser, self.Runtime = Logger, Builder, OnnxParser, Runtime
        self.Dims = tuple

    def named(self, name: str) -> list[tuple[tuple, int]]:
        """(args, device) of every call to `name`."""
        return [(args, device) for call, args, device in self.calls if call == name]


def install(monkeypatch: Any, **kwargs: Any) -> FakeTensorRT:
    """Put a FakeTensorRT in sys.modules and a DeviceTracker in torch.cuda for this test."""
    import sys

    import torch

    tracker = DeviceTracker()
    monkeypatch.setattr(torch.cuda, "set_device", tracker.set_device)
    monkeypatch.setattr(torch.cuda, "device", tracker.device)
    fake = FakeTensorRT(tracker, **kwargs)
    monkeypatch.setitem(sys.modules, "tensorrt", fake)
    return fake


class FakeStream:
    """torch.cuda.Stream stand-in: a handle for execute_async_v3, synchronize counted."""

    def __init__(self, device: Any = None) -> None:
        self.cuda_stream = 0x5EED
        self.synchronized = 0

    def synchronize(self) -> None:
        self.synchronized += 1


def install_cuda_memory(monkeypatch: Any) -> list[tuple[tuple, Any, str]]:
    """torch.empty with a CUDA device or pin_memory gives plain host memory (recorded), and
    torch.cuda.Stream a FakeStream; returns the allocations (shape, dtype, "cuda:N" | "pinned")."""
    import torch

    allocations: list[tuple[tuple, Any, str]] = []
    real_empty = torch.empty

    def empty(*size: Any, dtype: Any = None, device: Any = None, pin_memory: bool = False) -> Any:
        shape = tuple(size[0]) if len(size) == 1 and not isinstance(size[0], int) else tuple(size)
        if device is not None or pin_memory:
            allocations.append((shape, dtype, "pinned" if pin_memory else str(device)))
        return real_empty(shape, dtype=dtype).zero_()

    monkeypatch.setattr(torch, "empty", empty)
    monkeypatch.setattr(torch.cuda, "Stream", FakeStream)
    monkeypatch.setattr(torch.cuda, "stream", lambda stream: contextlib.nullcontext())
    return allocations


def write_qdq_onnx(path) -> None:
    """image -> QuantizeLinear -> DequantizeLinear -> 1x1 Conv: the shape of a ModelOpt output."""
    weight = np.ones((3, 3, 1, 1), np.float32)
    graph = helper.make_graph(
        [helper.make_node("QuantizeLinear", ["image", "s", "z"], ["q"]),
         helper.make_node("DequantizeLinear", ["q", "s", "z"], ["dq"]),
         helper.make_node("Conv", ["dq", "w"], ["logits"])], "qdq",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, 8, 16])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 3, 8, 16])],
        initializer=[numpy_helper.from_array(np.array(0.05, np.float32), "s"),
                     numpy_helper.from_array(np.array(0, np.int8), "z"),
                     numpy_helper.from_array(weight, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    onnx.save(model, str(path))


def install_modelopt(monkeypatch: Any) -> list[dict]:
    """A stand-in `modelopt.onnx.quantization.quantize` in sys.modules; returns its recorded calls."""
    import sys

    calls: list[dict] = []

    def quantize(**kwargs):
        calls.append(kwargs)
        write_qdq_onnx(kwargs["output_path"])

    quantization = types.ModuleType("modelopt.onnx.quantization")
    quantization.quantize = quantize
    for name, module in (("modelopt", types.ModuleType("modelopt")),
                         ("modelopt.onnx", types.ModuleType("modelopt.onnx")),
                         ("modelopt.onnx.quantization", quantization)):
        monkeypatch.setitem(sys.modules, name, module)
    return calls
