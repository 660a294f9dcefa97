"""Segmenter end to end (preprocess -> ONNX Runtime -> postprocess) against a numpy reference."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import softmax

from rain_seg_ros.artifact import ArtifactError, write_artifact
from rain_seg_ros.segmenter import Segmenter

from .runtime_fixtures import (
    graph_seg_artifact,
    reference_logits,
    seg_artifact,
    write_conv_graph_onnx,
    write_conv_onnx,
)


@pytest.fixture()
def conv_model(tmp_path):
    path = tmp_path / "seg.onnx"
    weight, bias = write_conv_onnx(path, seg_artifact(16, 32, 5, batch=1))
    return path, weight, bias


def test_segment_matches_numpy_reference_at_model_size(conv_model):
    path, weight, bias = conv_model
    rgb = np.random.default_rng(0).integers(0, 256, (16, 32, 3), dtype=np.uint8)
    with Segmenter(path, backend="onnxruntime", device="cpu") as seg:
        result = seg.segment(rgb)
        assert seg.backend_name == "onnxruntime" and seg.class_names == [f"c{i}" for i in range(5)]
    probs = softmax(reference_logits(rgb, weight, bias), axis=0)
    assert result.mask.dtype == np.uint8 and result.mask.shape == (16, 32)
    np.testing.assert_array_equal(result.mask, probs.argmax(0))
    assert np.abs(result.confidence.astype(int) - np.rint(probs.max(0) * 255)).max() <= 1
    assert set(result.timings_ms) == {"preprocess", "infer", "postprocess", "total"}
    assert result.timings_ms["total"] >= result.timings_ms["infer"] > 0


def test_segment_returns_input_resolution_and_pads_static_batches(conv_model):
    path, _, _ = conv_model
    rng = np.random.default_rng(1)
    images = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in ((48, 96), (20, 20), (16, 32))]
    with Segmenter(path, backend="onnxruntime", device="cpu") as seg:   # model batch is static 1
        results = seg.segment_batch(images)
        color = seg.colorize(results[0].mask)
    assert [r.mask.shape for r in results] == [(48, 96), (20, 20), (16, 32)]
    assert color.shape == (48, 96, 3)
    palette = np.array([(10 * i, 255 - 10 * i, 7 * i) for i in range(5)], np.uint8)
    np.testing.assert_array_equal(color, palette[results[0].mask])


def test_non_segmentation_artifacts_and_bad_thresholds_are_refused(tmp_path, conv_model):
    path, _, _ = conv_model
    with pytest.raises(ValueError, match="min_confidence"):
        Segmenter(path, min_confidence=2.0)
    art = seg_artifact(16, 32, 5, batch=1, task="dsanet_encoder")
    write_artifact(art, path)
    with pytest.raises(ArtifactError, match="not a segmenter"):
        Segmenter(path, backend="onnxruntime", device="cpu")


def test_want_confidence_false_gives_none_and_min_confidence_still_applies(conv_model):
    path, weight, bias = conv_model
    rgb = np.random.default_rng(2).integers(0, 256, (16, 32, 3), dtype=np.uint8)
    probs = softmax(reference_logits(rgb, weight, bias), axis=0)
    with Segmenter(path, backend="onnxruntime", device="cpu") as seg:
        plain = seg.segment(rgb, want_confidence=False)
    assert plain.confidence is None
    np.testing.assert_array_equal(plain.mask, probs.argmax(0))
    threshold = float(np.median(probs.max(0)))     # about half the pixels fall below it
    with Segmenter(path, backend="onnxruntime", device="cpu", min_confidence=threshold) as seg:
        (gated,) = seg.segment_batch([rgb], want_confidence=False)
    low = np.rint(probs.max(0) * 255) < np.ceil(threshold * 255)
    assert gated.confidence is None and 0 < low.sum() < low.size
    np.testing.assert_array_equal(gated.mask, np.where(low, 255, probs.argmax(0)))


@pytest.fixture()
def graph_model(tmp_path):
    """ids_confidence_u8 contract, dynamic batch: uint8 in, ids and confidence out of the graph."""
    path = tmp_path / "graph.onnx"
    weight, bias = write_conv_graph_onnx(path, graph_seg_artifact(16, 32, 5))
    return path, weight, bias


def _spy_outputs(seg: Segmenter) -> list[list[str]]:
    """Record the output names each backend call asks for."""
    calls: list[list[str]] = []
    run = seg.runner._run_outputs

    def spy(inputs, names):
        calls.append(list(names))
        assert inputs[0].dtype == np.uint8                        # uint8 crosses, not float32
        return run(inputs, names)

    seg.runner._run_outputs = spy
    return calls


def test_results_in_the_graph_match_numpy_for_a_batch_of_cameras(graph_model):
    path, weight, bias = graph_model
    rng = np.random.default_rng(4)
    same = [rng.integers(0, 256, (16, 32, 3), dtype=np.uint8) for _ in range(3)]
    other = rng.integers(0, 256, (48, 40, 3), dtype=np.uint8)
    with Segmenter(path, backend="onnxruntime", device="cpu") as seg:
        calls = _spy_outputs(seg)
        results = seg.segment_batch([*same, other])
    assert calls == [["mask", "confidence"]]                     # the four frames in one call
    for rgb, result in zip(same, results):
        probs = softmax(reference_logits(rgb, weight, bias), axis=0)
        np.testing.assert_array_equal(result.mask, probs.argmax(0))
        assert result.confidence is not None
        assert np.abs(result.confidence.astype(int) - np.rint(probs.max(0) * 255)).max() <= 1
    assert results[3].mask.shape == results[3].confidence.shape == (48, 40)


def test_unwanted_confidence_is_not_computed_unless_min_confidence_needs_it(graph_model):
    path, weight, bias = graph_model
    rgb = np.random.default_rng(5).integers(0, 256, (16, 32, 3), dtype=np.uint8)
    probs = softmax(reference_logits(rgb, weight, bias), axis=0)
    with Segmenter(path, backend="onnxruntime", device="cpu") as seg:
        calls = _spy_outputs(seg)
        plain = seg.segment(rgb, want_confidence=False)
    assert calls == [["mask"]] and plain.confidence is None
    np.testing.assert_array_equal(plain.mask, probs.argmax(0))
    threshold = float(np.median(probs.max(0)))
    with Segmenter(path, backend="onnxruntime", device="cpu", min_confidence=threshold) as seg:
        calls = _spy_outputs(seg)
        gated = seg.segment(rgb, want_confidence=False)
    low = np.rint(probs.max(0) * 255) < np.ceil(threshold * 255)
    assert calls == [["mask", "confidence"]] and gated.confidence is None and 0 < low.sum() < low.size
    np.testing.assert_array_equal(gated.mask, np.where(low, 255, probs.argmax(0)))


def test_sidecars_without_a_contract_are_float_logit_exports(conv_model):
    import json

    path, weight, bias = conv_model
    sidecar = path.with_suffix(".json")
    data = json.loads(sidecar.read_text())
    data.pop("contract", None)                                   # as exporters before issue 13 wrote it
    sidecar.write_text(json.dumps(data))
    rgb = np.random.default_rng(6).integers(0, 256, (16, 32, 3), dtype=np.uint8)
    with Segmenter(path, backend="onnxruntime", device="cpu") as seg:
        assert seg.artifact.contract == "float"
        result = seg.segment(rgb)
    np.testing.assert_array_equal(result.mask, reference_logits(rgb, weight, bias).argmax(0))


def test_in_graph_sidecar_with_other_output_names_is_refused_in_one_line(graph_model):
    from rain_seg_ros.artifact import TensorSpec

    path, _, _ = graph_model
    outputs = [TensorSpec(name, ["batch", 16, 32], "uint8") for name in ("ids", "conf")]
    write_artifact(graph_seg_artifact(16, 32, 5, outputs=outputs), path)
    with pytest.raises(ArtifactError, match=r"needs outputs \['mask', 'confidence'\].*re-export"):
        Segmenter(path, backend="onnxruntime", device="cpu")
