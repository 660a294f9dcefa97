"""Replay mIoU against independent references: boolean-mask numpy IoU and torchmetrics."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from torchmetrics.functional.classification import multiclass_jaccard_index

from rain_seg_ros.replay.metrics import confusion_matrix, scores_from_confusion

C = 5


def numpy_iou(pred: np.ndarray, gt: np.ndarray, c: int) -> float | None:
    valid = gt != 255
    inter = ((pred == c) & (gt == c) & valid).sum()
    union = (((pred == c) | (gt == c)) & valid).sum()
    return None if union == 0 else inter / union


label_maps = st.tuples(st.integers(1, 10), st.integers(1, 10)).flatmap(
    lambda s: st.tuples(arrays(np.uint8, s, elements=st.sampled_from([0, 1, 2, 3, 4, 255])),
                        arrays(np.uint8, s, elements=st.sampled_from([0, 1, 2, 3, 4, 255]))))


@settings(max_examples=60, deadline=None)
@given(label_maps)
def test_per_class_iou_matches_boolean_masks(pair):
    pred, gt = pair
    scores = scores_from_confusion(confusion_matrix(pred, gt, C))
    for c in range(C):
        expected = numpy_iou(pred, gt, c)
        got = scores["per_class_iou"][c]
        assert (got is None) == (expected is None)
        if expected is not None:
            assert got == pytest.approx(expected)
    present = [v for v in scores["per_class_iou"] if v is not None]
    if present:
        assert scores["miou"] == pytest.approx(np.mean(present))


def test_matches_torchmetrics_when_predictions_are_valid():
    rng = np.random.default_rng(3)
    gt = rng.integers(0, C, (3, 20, 30))
    gt[:, :2] = 255
    pred = np.where(rng.random(gt.shape) < 0.7, gt, rng.integers(0, C, gt.shape))
    pred[gt == 255] = rng.integers(0, C, (gt == 255).sum())
    cm = sum(confusion_matrix(p, g, C) for p, g in zip(pred, gt))
    ours = scores_from_confusion(cm)
    ref = multiclass_jaccard_index(torch.from_numpy(pred), torch.from_numpy(gt), num_classes=C,
                                   ignore_index=255, average=None)
    np.testing.assert_allclose(ours["per_class_iou"], ref.numpy(), rtol=1e-6)
    labelled = gt != 255
    assert ours["pixel_accuracy"] == pytest.approx((pred[labelled] == gt[labelled]).mean())


def test_ignore_predictions_are_misses_not_false_positives():
    gt = np.array([[0, 0, 1, 1]])
    pred = np.array([[0, 255, 1, 1]])
    scores = scores_from_confusion(confusion_matrix(pred, gt, 2))
    assert scores["per_class_iou"] == [pytest.approx(0.5), pytest.approx(1.0)]


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError):
        confusion_matrix(np.zeros((2, 2)), np.zeros((2, 3)), 3)
