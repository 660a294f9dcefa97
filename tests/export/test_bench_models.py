"""`python -m export.bench_models`: random-weight exports named and described for the benchmark."""

from __future__ import annotations

import cv2
import numpy as np

from export.bench_models import BENCH_MODELS, export_bench_model
from export.parity import BEFORE_UPSAMPLE_MEAN_LSB, BEFORE_UPSAMPLE_P99_LSB
from rain_seg_ros.artifact import load_artifact
from rain_seg_ros.backends import open_backend
from rain_seg_ros.preprocess import preprocess, preprocess_u8
from rain_seg_ros.segmenter import Segmenter
from training.models import MODEL_KINDS


def test_bench_models_use_registered_kinds():
    assert {kind for kind, _ in BENCH_MODELS.values()} <= set(MODEL_KINDS)


def test_export_bench_model_writes_graph_and_network_with_a_random_weights_sidecar(tmp_path, tiny_kinds):
    files = export_bench_model("tiny", "tiny_segmenter", {"num_classes": 19}, (32, 64), tmp_path,
                               formats=(".onnx",))   # .pt2 export: tests/export/test_export_onnx.py
    assert [f.name for f in files] == ["tiny-32x64.onnx", "tiny-32x64-network.onnx"]
    graph, network = load_artifact(files[0]), load_artifact(files[1])
    assert graph.extra["random_weights"] is True and graph.contract == "ids_confidence_u8"
    # the confidence at the logits' low resolution (TinySegmenter scores at half size), said so in the sidecar
    assert graph.extra["confidence"] == "low_resolution" and graph.outputs[1].shape == [1, 16, 32]
    assert network.contract == "float" and network.input.shape == [1, 3, 32, 64]
    assert graph.exporter["opset"] == "18"   # kept from the ONNX export in the shared sidecar
    rgb = np.random.default_rng(0).integers(0, 256, (32, 64, 3), dtype=np.uint8)
    with open_backend(files[0], backend="onnxruntime", device="cpu") as a, \
            open_backend(files[1], backend="onnxruntime", device="cpu") as b:
        ids, conf = a.run([preprocess_u8([rgb], graph)[0]])
        logits = b.infer(preprocess([rgb], network)[0])           # the float path, same weights
    # the class ids are the float path's exactly; the confidence is within the stated tolerance of
    # numpy's max softmax of the float logits (export/parity.py)
    np.testing.assert_array_equal(ids, logits.argmax(axis=1))
    assert conf.shape == (1, 16, 32)
    up = cv2.resize(conf[0], (64, 32), interpolation=cv2.INTER_LINEAR)[None]   # the host's resize
    z = logits.astype(np.float64) - logits.max(axis=1, keepdims=True)
    diff = np.abs(up - np.rint(255 * np.exp(z).max(axis=1) / np.exp(z).sum(axis=1)))
    assert diff.mean() <= BEFORE_UPSAMPLE_MEAN_LSB and np.percentile(diff, 99) <= BEFORE_UPSAMPLE_P99_LSB
    with Segmenter(files[0], backend="onnxruntime", device="cpu") as seg:   # served at the camera size
        served = seg.segment(rgb)
    assert served.confidence is not None and served.confidence.shape == (32, 64)
    assert np.abs(served.confidence.astype(int) - up[0]).max() <= 1
