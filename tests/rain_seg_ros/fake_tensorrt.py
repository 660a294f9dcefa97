"""Stand-ins for `tensorrt` and torch's CUDA device switching, recording what the code asks of them.

`FakeTensorRT` is a module-like object with the TensorRT 10 names the builder and runtime
use; every call is appended to `calls` together with the CUDA device that was current at
that moment (`DeviceTracker`), so tests can check flags, precision settings and devices
without NVIDIA's libraries. Install with `install(monkeypatch)`; `install_modelopt` does the
same for ModelOpt's ONNX quantizer.
"""

from __future__ import annotations

import contextlib
import types
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
            pass

        class Engine:
            def create_execution_context(self) -> Context:
                record("create_execution_context")
                return Context()

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
