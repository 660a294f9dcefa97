"""rain_seg_ros.condition on a stand-in estimator with the real I/O signature (written with
onnx.helper): global mean of the normalised image -> 3x3 affine -> sigmoid, so the expected
output is a numpy formula. The real exported ConditionNet is run in tests/export/test_condition_export.py."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from rain_seg_ros.artifact import Artifact, ArtifactError, TensorSpec
from rain_seg_ros.condition import ConditionEstimator

from .runtime_fixtures import MEAN, STD, save_onnx, seg_artifact, write_conv_onnx

SIZE = (12, 20)
# rows: rain, night, intensity logits from the mean normalised R, G, B
W = np.array([[2.0, -1.0, 0.5], [-3.0, -3.0, -3.0], [1.0, 0.0, -1.0]], np.float32)
B = np.array([0.1, -2.0, 0.3], np.float32)


def _artifact(batch: int | str, columns=("rain", "night", "intensity")) -> Artifact:
    return Artifact(task="condition", inputs=[TensorSpec("image", [batch, 3, *SIZE])],
                    outputs=[TensorSpec("condition", [batch, 3])], input_size=SIZE, mean=MEAN, std=STD,
                    class_names=["clear", "rain", "night", "rain+night"],
                    extra={"output_columns": list(columns)})


def _write(path: Path, artifact: Artifact) -> Path:
    b = artifact.input.shape[0]
    graph = helper.make_graph(
        [helper.make_node("ReduceMean", ["image", "axes"], ["m"], keepdims=0),      # (B, 3)
         helper.make_node("Gemm", ["m", "w", "b"], ["z"], transB=1),                # (B, 3)
         helper.make_node("Sigmoid", ["z"], ["condition"])], "stand_in",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [b, 3, *SIZE])],
        [helper.make_tensor_value_info("condition", TensorProto.FLOAT, [b, 3])],
        initializer=[numpy_helper.from_array(np.array([2, 3], np.int64), "axes"),
                     numpy_helper.from_array(W, "w"), numpy_helper.from_array(B, "b")])
    return save_onnx(graph, path, artifact)


def _expected(rgb: np.ndarray) -> np.ndarray:
    x = cv2.resize(rgb, (SIZE[1], SIZE[0]), interpolation=cv2.INTER_LINEAR) / 255.0
    m = ((x - np.asarray(MEAN)) / np.asarray(STD)).mean(axis=(0, 1))                # (3,)
    return 1.0 / (1.0 + np.exp(-(W.astype(np.float64) @ m + B)))


@pytest.mark.parametrize("batch", ["batch", 1])
def test_estimates_match_numpy(tmp_path, batch):
    model = _write(tmp_path / "cond.onnx", _artifact(batch))
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (30, 50, 3), dtype=np.uint8), np.full((12, 20, 3), 20, np.uint8)]
    with ConditionEstimator(model, backend="onnxruntime", device="cpu") as est:
        results = est.estimate_batch(frames)   # a fixed batch of 1 runs the frames one by one
        single = est.estimate(frames[1])
    for frame, res in zip(frames, results):
        r, n, inten = _expected(frame)
        assert (res.p_rain, res.p_night, res.intensity) == pytest.approx((r, n, inten), abs=1e-5)
        assert sum(res.probabilities.values()) == pytest.approx(1.0)
        assert res.probabilities["rain+night"] == pytest.approx(r * n, abs=1e-5)
    assert single.probabilities == pytest.approx(results[1].probabilities, abs=1e-6)
    assert results[1].condition == "night"     # a dark frame: the stand-in's night logit is high


def test_refuses_a_segmenter_and_a_foreign_layout(tmp_path):
    seg = tmp_path / "seg.onnx"
    write_conv_onnx(seg, seg_artifact(*SIZE, num_classes=3))
    with pytest.raises(ArtifactError, match="'segmentation' model, not a condition estimator"):
        ConditionEstimator(seg, backend="onnxruntime", device="cpu")
    odd = _write(tmp_path / "odd.onnx", _artifact("batch", columns=("night", "rain", "intensity")))
    with pytest.raises(ArtifactError, match="re-export"):
        ConditionEstimator(odd, backend="onnxruntime", device="cpu")
