"""The TensorRT build and load path against a recording stand-in for `tensorrt` (no GPU, no TensorRT).

Checks what TensorRT is asked to do: a strongly typed network with no weak-typing precision
flags or implicit calibrator (deprecated in TensorRT 10, removed in 11), the precision taken
from the graph, every call on the requested CUDA device, and a timing cache per GPU and
TensorRT version written atomically.
"""

from __future__ import annotations

import os

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from rain_seg_ros.backends import engine_cache
from rain_seg_ros.backends import tensorrt as trt_backend
from rain_seg_ros.backends.base import BackendError
from rain_seg_ros.backends.engine_cache import BuildOptions, Environment, timing_cache_path
from rain_seg_ros.backends.tensorrt_build import build_serialized_engine, cuda_index
from rain_seg_ros.backends.tensorrt_precision import graph_for_precision, graph_precision

from .fake_tensorrt import install
from .runtime_fixtures import (
    graph_seg_artifact,
    reference_logits,
    seg_artifact,
    write_conv_graph_onnx,
    write_conv_onnx,
)

ORIN = Environment("10.13.0", "Orin", "8.7")
RTX = Environment("10.13.0", "NVIDIA GeForce RTX 4090", "8.9")


@pytest.fixture()
def onnx_model(tmp_path):
    path = tmp_path / "seg.onnx"
    write_conv_onnx(path, seg_artifact(8, 16, 3))
    return path


def test_fp16_graph_is_a_float16_copy_with_float32_io_that_computes_the_same(onnx_model, tmp_path):
    weight, bias = write_conv_onnx(onnx_model, seg_artifact(8, 16, 3))
    half = graph_for_precision(onnx_model, "fp16", tmp_path / "cache")
    assert half == tmp_path / "cache" / "seg.fp16.onnx" and graph_precision(half) == "fp16"
    model = onnx.load(str(half))
    assert {t.data_type for t in model.graph.initializer} == {onnx.TensorProto.FLOAT16}
    assert [i.type.tensor_type.elem_type for i in model.graph.input] == [onnx.TensorProto.FLOAT]
    rgb = np.random.default_rng(1).integers(0, 256, (8, 16, 3), dtype=np.uint8)
    x = ((rgb / 255.0 - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225]))
    x = x.transpose(2, 0, 1)[None].astype(np.float32)
    (out,) = ort.InferenceSession(str(half), providers=["CPUExecutionProvider"]).run(None, {"image": x})
    np.testing.assert_allclose(out[0], reference_logits(rgb, weight, bias), rtol=2e-2, atol=5e-2)
    # reused while the source is unchanged; a re-exported source gets a fresh conversion
    stamp = half.stat().st_mtime_ns
    assert graph_for_precision(onnx_model, "fp16", tmp_path / "cache").stat().st_mtime_ns == stamp
    write_conv_onnx(onnx_model, seg_artifact(8, 16, 3), seed=7)
    fresh = graph_for_precision(onnx_model, "fp16", tmp_path / "cache")
    assert onnx.load(str(fresh)).graph.initializer[0].raw_data != model.graph.initializer[0].raw_data


def test_int8_without_a_qdq_graph_says_how_to_make_one(onnx_model, tmp_path):
    with pytest.raises(BackendError, match="--int8 --calib-images"):
        graph_for_precision(onnx_model, "int8", tmp_path)


def test_engine_is_built_strongly_typed_without_precision_flags(onnx_model, tmp_path, monkeypatch):
    fake = install(monkeypatch)
    half = graph_for_precision(onnx_model, "fp16", tmp_path)
    data = build_serialized_engine(half, BuildOptions("fp16"), timing_cache=tmp_path / "t.cache")
    assert data == b"serialized-engine"
    (flags, _), = fake.named("create_network")
    assert flags == (1 << 1,)                       # 1 << STRONGLY_TYPED
    assert fake.named("set_flag") == []            # no BuilderFlag.FP16 / INT8: the graph decides
    (built, _), = fake.named("build_serialized_network")
    assert built == ((), None)                      # no flags, no implicit int8 calibrator
    assert fake.named("parse_from_file")[0][0] == ("seg.fp16.onnx",)


def test_a_precision_the_graph_does_not_carry_is_refused(onnx_model, tmp_path, monkeypatch):
    install(monkeypatch)
    for precision in ("fp16", "int8"):
        with pytest.raises(BackendError, match="strongly typed"):
            build_serialized_engine(onnx_model, BuildOptions(precision))


def test_build_and_engine_load_happen_on_the_requested_device(onnx_model, tmp_path, monkeypatch):
    fake = install(monkeypatch)
    monkeypatch.setattr(trt_backend, "probe_environment", lambda index: ORIN)
    engine = trt_backend.resolve_engine(onnx_model, 3, tmp_path / "cache", BuildOptions("fp32"))
    for name in ("Builder", "create_network", "parse_from_file", "build_serialized_network"):
        assert [device for _, device in fake.named(name)] == [3], name
    trt_backend.open_engine(engine, 2)
    for name in ("Runtime", "deserialize_cuda_engine", "create_execution_context"):
        assert [device for _, device in fake.named(name)] == [2], name
    assert fake.named("deserialize_cuda_engine")[0][0] == (b"serialized-engine",)
    assert cuda_index("cuda") == 0 and cuda_index("cuda:5") == 5
    for bad in ("cpu", "cuda:x", "cuda:-1"):
        with pytest.raises(BackendError, match="cuda:N"):
            cuda_index(bad)


def test_timing_cache_is_kept_per_gpu_and_tensorrt_and_replaced_atomically(onnx_model, tmp_path, monkeypatch):
    fake = install(monkeypatch, timing_bytes=b"timings measured here")
    env = {"now": ORIN}
    monkeypatch.setattr(trt_backend, "probe_environment", lambda index: env["now"])
    replaced = []
    real_replace = os.replace

    def spy(src, dst):
        replaced.append((os.fspath(src), os.fspath(dst), open(src, "rb").read()))
        real_replace(src, dst)

    monkeypatch.setattr(engine_cache.os, "replace", spy)
    cache = tmp_path / "cache"
    orin_timing = timing_cache_path(cache, ORIN)
    orin_timing.parent.mkdir(parents=True)
    orin_timing.write_bytes(b"earlier timings")
    trt_backend.resolve_engine(onnx_model, 0, cache, BuildOptions("fp32"))
    env["now"] = RTX
    trt_backend.resolve_engine(onnx_model, 0, cache, BuildOptions("fp32"))
    rtx_timing = timing_cache_path(cache, RTX)
    assert orin_timing != rtx_timing
    assert "Orin" in orin_timing.name and "sm8.7" in orin_timing.name and "10.13.0" in orin_timing.name
    assert "RTX_4090" in rtx_timing.name and "sm8.9" in rtx_timing.name
    # each build starts from its own GPU's timings only
    assert [args[0] for args, _ in fake.named("create_timing_cache")] == [b"earlier timings", b""]
    for path in (orin_timing, rtx_timing):
        assert path.read_bytes() == b"timings measured here"
        (src, _, data), = [r for r in replaced if r[1] == str(path)]
        assert os.path.dirname(src) == str(cache) and src != str(path) and data == b"timings measured here"
    assert sorted(p.name for p in cache.iterdir() if ".tmp" in p.name) == []


def test_backend_refuses_a_malformed_cuda_device_in_one_line(onnx_model, monkeypatch):
    install(monkeypatch)
    for device in ("cuda:x", "cpu", "cuda:"):
        with pytest.raises(BackendError, match="cuda or cuda:N") as info:
            trt_backend.TensorRTBackend(onnx_model, device=device)
        assert "\n" not in str(info.value)


def test_fp16_graph_of_a_uint8_graph_keeps_uint8_io_and_computes_the_same(tmp_path):
    """The ids_confidence_u8 graph in fp16: uint8 image in, uint8 mask and confidence out, and
    the results of the numpy reference (argmax, 255 * max softmax) up to fp16 rounding."""
    path = tmp_path / "seg.onnx"
    weight, bias = write_conv_graph_onnx(path, graph_seg_artifact(8, 16, 3))
    half = graph_for_precision(path, "fp16", tmp_path / "cache")
    assert graph_precision(half) == "fp16"
    model = onnx.load(str(half))
    u8 = onnx.TensorProto.UINT8
    assert [v.type.tensor_type.elem_type for v in (*model.graph.input, *model.graph.output)] == [u8, u8, u8]
    rgb = np.random.default_rng(2).integers(0, 256, (2, 8, 16, 3), dtype=np.uint8)
    session = ort.InferenceSession(str(half), providers=["CPUExecutionProvider"])
    mask, confidence = session.run(None, {"image": rgb})
    assert mask.dtype == confidence.dtype == np.uint8 and mask.shape == (2, 8, 16)
    logits = np.stack([reference_logits(image, weight, bias) for image in rgb])        # (B, C, H, W)
    expected_conf = np.round(255.0 / np.exp(logits - logits.max(axis=1, keepdims=True)).sum(axis=1))
    assert (mask == logits.argmax(axis=1)).mean() > 0.98            # fp16 may flip near-ties only
    assert np.abs(confidence.astype(int) - expected_conf).max() <= 2
