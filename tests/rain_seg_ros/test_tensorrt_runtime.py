"""The TensorRT runner on a recording stand-in engine: every input and output bound by name with the
engine's dtypes, pinned staging allocated once, and the results read back from the bound memory.

The stand-in context reads its inputs from the addresses the runner set and writes outputs that
the test computes with numpy from those inputs, so a tensor bound to the wrong buffer, staged with
the wrong dtype or copied back short shows up as wrong numbers.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from rain_seg_ros.artifact import Artifact, TensorSpec, write_artifact
from rain_seg_ros.backends import tensorrt as trt_backend
from rain_seg_ros.backends.base import BackendError
from rain_seg_ros.backends.engine_cache import Environment

from .fake_tensorrt import FakeIO, install, install_cuda_memory
from .runtime_fixtures import graph_seg_artifact, write_conv_graph_onnx

ORIN = Environment("10.13.0", "Orin", "8.7")


@pytest.fixture()
def fake(monkeypatch):
    fake = install(monkeypatch)
    monkeypatch.setattr(trt_backend, "probe_environment", lambda index: ORIN)
    return fake


def _seg_engine(fake, image_dtype: str = "uint8") -> None:
    per_pixel = lambda shapes: shapes["image"][:3]                                     # noqa: E731
    fake.io = [FakeIO("image", image_dtype, profile=((1, 8, 16, 3), (1, 8, 16, 3), (4, 8, 16, 3))),
               FakeIO("mask", "uint8", shape_of=per_pixel), FakeIO("confidence", "uint8", shape_of=per_pixel)]
    fake.compute = lambda x: {"mask": x["image"].max(axis=3), "confidence": x["image"].min(axis=3)}


def test_uint8_graph_returns_mask_and_confidence_through_pinned_buffers_allocated_once(
        fake, tmp_path, monkeypatch):
    allocations = install_cuda_memory(monkeypatch)
    path = tmp_path / "seg.onnx"
    write_conv_graph_onnx(path, graph_seg_artifact(8, 16, 3))
    _seg_engine(fake)
    runner = trt_backend.TensorRTBackend(path, device="cuda:1", engine_cache_dir=tmp_path / "c",
                                         precision="fp32")
    rng = np.random.default_rng(0)
    for batch in (2, 4, 1):
        images = rng.integers(0, 256, (batch, 8, 16, 3), dtype=np.uint8)
        mask, confidence = runner.run([images])
        assert mask.dtype == confidence.dtype == np.uint8
        np.testing.assert_array_equal(mask, images.max(axis=3))
        np.testing.assert_array_equal(confidence, images.min(axis=3))
    (only,) = runner.run([images], outputs=["confidence"])
    np.testing.assert_array_equal(only, images.min(axis=3))
    # one device buffer and one pinned staging buffer per tensor, at the profile's largest shape
    import torch

    assert sorted(allocations) == sorted(
        [((4, 8, 16), torch.uint8, where) for where in ("cuda:1", "pinned") for _ in range(2)]
        + [((4, 8, 16, 3), torch.uint8, where) for where in ("cuda:1", "pinned")])
    assert sorted(args[0] for args, _ in fake.named("set_tensor_address")) == ["confidence", "image", "mask"]
    with pytest.raises(ValueError, match="maximum"):
        runner.run([np.zeros((5, 8, 16, 3), np.uint8)])
    runner.close()


def test_low_resolution_confidence_gets_its_own_engine_shape(fake, tmp_path, monkeypatch):
    """A "low_resolution" graph's confidence is (B, h, w), smaller than the mask: its buffers come
    from the engine's shape for it, not the mask's."""
    allocations = install_cuda_memory(monkeypatch)
    path = tmp_path / "seg.onnx"
    write_conv_graph_onnx(path, graph_seg_artifact(8, 16, 3))
    low = lambda shapes: (shapes["image"][0], 2, 4)                                   # noqa: E731
    fake.io = [FakeIO("image", "uint8", profile=((1, 8, 16, 3), (1, 8, 16, 3), (4, 8, 16, 3))),
               FakeIO("mask", "uint8", shape_of=lambda shapes: shapes["image"][:3]),
               FakeIO("confidence", "uint8", shape_of=low)]
    fake.compute = lambda x: {"mask": x["image"].max(axis=3),
                              "confidence": x["image"][:, ::4, ::4].min(axis=3)}
    runner = trt_backend.TensorRTBackend(path, device="cuda:0", engine_cache_dir=tmp_path / "c",
                                         precision="fp32")
    images = np.random.default_rng(1).integers(0, 256, (3, 8, 16, 3), dtype=np.uint8)
    mask, confidence = runner.run([images])
    np.testing.assert_array_equal(mask, images.max(axis=3))
    np.testing.assert_array_equal(confidence, images[:, ::4, ::4].min(axis=3))      # (3, 2, 4)
    import torch

    assert ((4, 2, 4), torch.uint8, "cuda:0") in allocations
    runner.close()


def _write_weather_graph(path) -> Artifact:
    """A parseable ONNX with the DSANet image_u8 signature (the fake engine computes the outputs)."""
    io = [helper.make_tensor_value_info("image", TensorProto.UINT8, ["batch", 8, 16, 3]),
          helper.make_tensor_value_info("rain_code", TensorProto.FLOAT, ["batch", 2, 2, 4]),
          helper.make_tensor_value_info("intensity", TensorProto.FLOAT, ["batch"]),
          helper.make_tensor_value_info("out", TensorProto.UINT8, ["batch", 8, 16, 3])]
    graph = helper.make_graph([helper.make_node("Identity", ["image"], ["out"])], "weather", io[:3], io[3:])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    onnx.save(model, str(path))
    artifact = Artifact(task="dsanet", contract="image_u8", input_size=(8, 16),
                        inputs=[TensorSpec("image", ["batch", 8, 16, 3], "uint8"),
                                TensorSpec("rain_code", ["batch", 2, 2, 4]),
                                TensorSpec("intensity", ["batch"])],
                        outputs=[TensorSpec("out", ["batch", 8, 16, 3], "uint8")])
    write_artifact(artifact, path)
    return artifact


def test_three_input_weather_graph_binds_every_input_with_its_dtype_and_profile(fake, tmp_path, monkeypatch):
    install_cuda_memory(monkeypatch)
    path = tmp_path / "weather.onnx"
    _write_weather_graph(path)
    fake.io = [FakeIO("intensity", "float32", profile=((1,), (1,), (8,))),          # engine order differs
               FakeIO("image", "uint8", profile=((1, 8, 16, 3), (1, 8, 16, 3), (8, 8, 16, 3))),
               FakeIO("rain_code", "float32", profile=((1, 2, 2, 4), (1, 2, 2, 4), (8, 2, 2, 4))),
               FakeIO("out", "uint8", shape_of=lambda shapes: shapes["image"])]

    def compute(x):
        shift = np.rint(10 * x["intensity"] + x["rain_code"].sum(axis=(1, 2, 3)))[:, None, None, None]
        return {"out": ((x["image"].astype(np.int64) + shift.astype(np.int64)) % 256).astype(np.uint8)}

    fake.compute = compute
    runner = trt_backend.TensorRTBackend(path, device="cuda", engine_cache_dir=tmp_path / "c",
                                         precision="fp32")
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (3, 8, 16, 3), dtype=np.uint8)
    code = rng.normal(size=(3, 2, 2, 4)).astype(np.float32)
    intensity = np.array([0.0, 0.5, 1.0], np.float32)
    (out,) = runner.run([image, code, intensity])
    shift = np.rint(10 * intensity.astype(np.float64) + code.sum(axis=(1, 2, 3)))[:, None, None, None]
    np.testing.assert_array_equal(out, (image.astype(np.int64) + shift.astype(np.int64)) % 256)
    # the engine was built with a profile for each of the three inputs, batch 1..8
    (shapes,), = [args for args, _ in fake.named("add_optimization_profile")]
    assert shapes == {"image": ((1, 8, 16, 3), (1, 8, 16, 3), (8, 8, 16, 3)),
                      "rain_code": ((1, 2, 2, 4), (1, 2, 2, 4), (8, 2, 2, 4)),
                      "intensity": ((1,), (1,), (8,))}


def test_engine_whose_dtypes_differ_from_the_sidecar_is_refused_in_one_line(fake, tmp_path, monkeypatch):
    install_cuda_memory(monkeypatch)
    path = tmp_path / "seg.onnx"
    write_conv_graph_onnx(path, graph_seg_artifact(8, 16, 3))
    _seg_engine(fake, image_dtype="float32")        # an engine built from a float-input graph
    with pytest.raises(BackendError, match="image is float32 in the engine but uint8") as info:
        trt_backend.TensorRTBackend(path, device="cuda", engine_cache_dir=tmp_path / "c", precision="fp32")
    assert "\n" not in str(info.value)
