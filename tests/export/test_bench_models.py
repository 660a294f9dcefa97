"""`python -m export.bench_models`: random-weight exports named and described for the benchmark."""

from __future__ import annotations

import numpy as np

from export.bench_models import BENCH_MODELS, export_bench_model
from rain_seg_ros.artifact import load_artifact
from rain_seg_ros.backends import open_backend
from training.models import MODEL_KINDS


def test_bench_models_use_registered_kinds():
    assert {kind for kind, _ in BENCH_MODELS.values()} <= set(MODEL_KINDS)


def test_export_bench_model_writes_both_formats_with_a_random_weights_sidecar(tmp_path, tiny_kinds):
    files = export_bench_model("tiny", "tiny_segmenter", {"num_classes": 19}, (32, 64), tmp_path)
    assert [f.name for f in files] == ["tiny-32x64.onnx", "tiny-32x64.pt2"]
    art = load_artifact(files[0])
    assert art.extra["random_weights"] is True and art.input.shape == [1, 3, 32, 64]
    assert art.exporter["opset"] == "18"   # kept from the ONNX export in the shared sidecar
    x = np.random.default_rng(0).standard_normal((1, 3, 32, 64)).astype(np.float32)
    with open_backend(files[0], backend="onnxruntime", device="cpu") as a, \
            open_backend(files[1], backend="torch", device="cpu", trust_pt2=True) as b:
        np.testing.assert_allclose(a.infer(x), b.infer(x), atol=1e-4)
