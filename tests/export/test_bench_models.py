"""`python -m export.bench_models`: random-weight exports named and described for the benchmark."""

from __future__ import annotations

import numpy as np

from export.bench_models import BENCH_MODELS, export_bench_model
from rain_seg_ros.artifact import load_artifact
from rain_seg_ros.backends import open_backend
from training.models import MODEL_KINDS


def test_bench_models_use_registered_kinds():
    assert {kind for kind, _ in BENCH_MODELS.values()} <= set(MODEL_KINDS)


def test_export_bench_model_writes_graph_and_network_with_a_random_weights_sidecar(tmp_path, tiny_kinds):
    from export.parity import reference_ids_confidence

    files = export_bench_model("tiny", "tiny_segmenter", {"num_classes": 19}, (32, 64), tmp_path,
                               formats=(".onnx",))   # .pt2 export: tests/export/test_export_onnx.py
    assert [f.name for f in files] == ["tiny-32x64.onnx", "tiny-32x64-network.onnx"]
    graph, network = load_artifact(files[0]), load_artifact(files[1])
    assert graph.extra["random_weights"] is True and graph.contract == "ids_confidence_u8"
    assert network.contract == "float" and network.input.shape == [1, 3, 32, 64]
    assert graph.exporter["opset"] == "18"   # kept from the ONNX export in the shared sidecar
    rgb = np.random.default_rng(0).integers(0, 256, (1, 32, 64, 3), dtype=np.uint8)
    x = ((rgb / 255.0 - graph.mean) / graph.std).transpose(0, 3, 1, 2).astype(np.float32)
    with open_backend(files[0], backend="onnxruntime", device="cpu") as a, \
            open_backend(files[1], backend="onnxruntime", device="cpu") as b:
        ids, conf = a.run([rgb])
        ref_ids, ref_conf = reference_ids_confidence(b.infer(x))   # same weights in both files
    assert (ids == ref_ids).mean() >= 0.999 and np.abs(conf.astype(int) - ref_conf).max() <= 1
