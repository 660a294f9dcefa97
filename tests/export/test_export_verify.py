"""`python -m export verify`: figures vs hand-computed values, pass on true exports, fail on a mismatch."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from export.__main__ import main as export_main
from export.parity import compare
from training.engine.checkpoint import ModuleSpec, save_checkpoint


def test_compare_figures():
    ref = np.zeros((1, 2, 2, 2))
    ref[0, 0] = 4.0                                       # class 0 wins everywhere
    out = ref.copy()
    out[0, 1, 0, 0] = 5.0                                 # top-left flips to class 1
    out[0, 1, 0, 1] = 0.4                                 # top-right: class 0 still wins
    report = compare(ref, out, labels_axis=1)
    assert report.max_abs == pytest.approx(5.0) and report.max_rel == pytest.approx(5.0 / 4.0)
    assert report.agreement == pytest.approx(3 / 4)
    assert report.passed(rtol=2.0, min_agreement=0.7)
    assert not report.passed(rtol=1.0, min_agreement=0.7) and not report.passed(rtol=2.0, min_agreement=0.8)
    with pytest.raises(ValueError, match="shape"):
        compare(ref, ref[:, :1])


@pytest.fixture(scope="module")
def image_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(5)
    for i in range(3):
        cv2.imwrite(str(folder / f"{i}.png"), rng.integers(0, 256, (40, 70, 3), dtype=np.uint8))
    return folder


@pytest.mark.parametrize("suffix", [".onnx", ".pt2"])
def test_verify_passes_for_the_true_checkpoint(seg_exports, seg_checkpoint, image_dir, suffix, capsys):
    backend = "onnxruntime" if suffix == ".onnx" else "torch"
    trust = ["--trust-pt2"] if suffix == ".pt2" else []   # we made this .pt2: the trusted path
    code = export_main(["verify", "--model", str(seg_exports / f"seg{suffix}"), "--checkpoint",
                        str(seg_checkpoint), "--images", str(image_dir), "--backend", backend, *trust])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "random    4 samples" in out and "images    3 samples" in out and "label agreement" in out
    assert "uint8 max diff" in out and "PASS (max 1 LSB" in out and f"seg{suffix} ({backend} on cpu)" in out


def test_verify_fails_against_another_checkpoint(seg_exports, tmp_path, capsys):
    from .tiny_models import TinySegmenter

    torch.manual_seed(123)
    other = tmp_path / "other"
    spec = ModuleSpec("tiny_segmenter", {"num_classes": 19})
    save_checkpoint(other, 1, {"model": (spec, TinySegmenter(19))},
                    extra_meta={"task": "segmentation", "num_classes": 19, "input_size": [32, 64]})
    code = export_main(["verify", "--model", str(seg_exports / "seg.onnx"), "--checkpoint", str(other)])
    captured = capsys.readouterr()
    assert code == 1 and "FAIL" in captured.out and "another checkpoint" in captured.err


def test_verify_dsanet_one_graph(dsanet_exports, dsanet_checkpoint, capsys):
    code = export_main(["verify", "--model", str(dsanet_exports / "dsa.onnx"),
                        "--checkpoint", str(dsanet_checkpoint), "--num-random", "2"])
    out = capsys.readouterr().out
    assert code == 0 and "PASS (max 1 LSB)" in out and "label agreement" not in out
    assert "uint8 max diff" in out


def test_compare_ids_against_hand_computed_softmax():
    from export.parity import compare_ids

    logits = np.zeros((1, 3, 1, 2))
    logits[0, :, 0, 0] = [0.0, np.log(2.0), 0.0]      # p = (1/4, 1/2, 1/4): class 1, 127.5 -> 128
    logits[0, :, 0, 1] = [np.log(3.0), 0.0, 0.0]      # p = (3/5, 1/5, 1/5): class 0, 153
    ids = np.array([[[1, 0]]], np.uint8)
    report = compare_ids(logits, ids, np.array([[[128, 152]]], np.uint8))
    assert report.agreement == 1.0 and report.max_lsb == 1 and report.passed(1e-3, 0.999)
    report = compare_ids(logits, np.array([[[1, 2]]], np.uint8), np.array([[[130, 153]]], np.uint8))
    assert report.agreement == 0.5 and report.max_lsb == 2 and not report.passed(1e-3, 0.4)


def test_compare_ids_with_a_low_resolution_confidence():
    from export.parity import compare_ids

    low = np.zeros((1, 3, 1, 1))
    low[0, :, 0, 0] = [np.log(3.0), 0.0, 0.0]          # p = (3/5, 1/5, 1/5): 153 at the low resolution
    logits = np.repeat(np.repeat(low, 2, axis=2), 4, axis=3)   # (1, 3, 2, 4): the upsampled logits
    ids = np.zeros((1, 2, 4), np.uint8)
    report = compare_ids(logits, ids, np.array([[[152]]], np.uint8), low=low)    # (B, h, w), not resized
    assert report.agreement == 1.0 and report.max_lsb == 1
    with pytest.raises(ValueError, match="do not match"):   # a full-size plane is not what "low" says
        compare_ids(logits, ids, np.full((1, 2, 4), 153, np.uint8), low=low)


def test_verify_reports_a_missing_sidecar_in_one_line(seg_checkpoint, tmp_path, capsys):
    (tmp_path / "lone.onnx").write_bytes(b"not really onnx")
    argv = ["verify", "--model", str(tmp_path / "lone.onnx"), "--checkpoint", str(seg_checkpoint)]
    assert export_main(argv) == 2
    assert "no sidecar" in capsys.readouterr().err
