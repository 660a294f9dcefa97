"""evaluate-masks on official Cityscapes labelIds and with 255 in the predictions.

References: cityscapesscripts' own label table and per-class pixel counts done with numpy.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cityscapesscripts.helpers.labels import id2label
from PIL import Image

from rain_seg_ros.labels import CITYSCAPES_CLASSES
from training.commands import evaluate_masks

C = 19


def save(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array, mode="L").save(path)


def reference_scores(pred: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    """mmseg's definition: pixels with gt 255 are dropped; a predicted 255 matches no class."""
    scored = gt != 255
    p, g = pred[scored], gt[scored]
    ious, accs = [], []
    for c in range(C):
        tp = np.sum((p == c) & (g == c))
        fp = np.sum((p == c) & (g != c))
        fn = np.sum((g == c) & (p != c))
        if tp + fp + fn:
            ious.append(tp / (tp + fp + fn) * 100)
        if tp + fn:
            accs.append(tp / (tp + fn) * 100)
    return {"mIoU": float(np.mean(ious)), "mAcc": float(np.mean(accs)), "aAcc": float(np.mean(p == g) * 100)}


def to_train_ids(label_ids: np.ndarray) -> np.ndarray:
    out = np.full(label_ids.shape, 255, np.uint8)
    for label_id in np.unique(label_ids):
        train_id = id2label[int(label_id)].trainId
        out[label_ids == label_id] = train_id if 0 <= train_id < 255 else 255
    return out


@pytest.fixture
def official_gtfine(tmp_path):
    """gtFine/val/<city>/<stem>_gtFine_labelIds.png only (the official download), trainId predictions."""
    rng = np.random.default_rng(7)
    preds, gts = [], []
    for k in range(2):
        stem = f"lindau_{k:06d}_000019"
        label_ids = rng.integers(0, 34, (20, 24)).astype(np.uint8)  # void ids 0..6 included
        gt = to_train_ids(label_ids)
        pred = np.where(rng.random(gt.shape) < 0.6, gt, rng.integers(0, C, gt.shape)).astype(np.uint8)
        pred[pred == 255] = 3
        pred[rng.random(gt.shape) < 0.1] = 255  # "no decision" pixels, as some models write
        save(tmp_path / "gtFine" / "val" / "lindau" / f"{stem}_gtFine_labelIds.png", label_ids)
        save(tmp_path / "pred" / f"{stem}_leftImg8bit.png", pred)
        preds.append(pred)
        gts.append(gt)
    return tmp_path, np.stack(preds), np.stack(gts)


def run(capsys, root: Path, *extra: str) -> tuple[int, dict, str]:
    rc = evaluate_masks.main(["--pred", str(root / "pred"), "--gt", str(root / "gtFine"),
                              "--num-classes", str(C), *extra])
    captured = capsys.readouterr()
    return rc, (json.loads(captured.out) if rc == 0 else {}), captured.err


def test_label_ids_with_ignore_predictions_as_misses(official_gtfine, capsys):
    root, pred, gt = official_gtfine
    rc, out, err = run(capsys, root, "--gt-format", "labelids", "--pred-ignore-as-miss")
    assert rc == 0, err
    ref = reference_scores(pred, gt)
    for key in ("mIoU", "mAcc", "aAcc"):
        assert out[key] == pytest.approx(ref[key], abs=1e-9), key
    assert out["num_pixels"] == int(np.sum(gt != 255))
    assert out["pred_ignore_pixels"] == int(np.sum((pred == 255) & (gt != 255)))
    assert list(out["per_class_iou"]) == list(CITYSCAPES_CLASSES)


def test_label_ids_need_the_option_and_ignore_predictions_need_theirs(official_gtfine, capsys):
    root, _, _ = official_gtfine
    rc, _, err = run(capsys, root)
    assert rc == 1 and "--gt-format labelids" in err and len(err.strip().splitlines()) == 1
    rc, _, err = run(capsys, root, "--gt-format", "labelids")  # 255 predicted: an error by default
    assert rc == 1 and "prediction has [255]" in err


def test_an_out_of_range_prediction_is_still_an_error(official_gtfine, capsys):
    root, pred, _ = official_gtfine
    bad = pred[0].copy()
    bad[0, 0] = C  # 19 is no class, and must not pass as the miss column
    save(root / "pred" / "lindau_000000_000019_leftImg8bit.png", bad)
    rc, _, err = run(capsys, root, "--gt-format", "labelids", "--pred-ignore-as-miss")
    assert rc == 1 and "prediction has [19]" in err
