"""SegmentationMetric against hand-computed matrices, per-pixel numpy formulas and torchmetrics."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from rain_seg_ros.labels import CITYSCAPES_CLASSES
from training.metrics.segmentation import SegmentationMetric, confusion_matrix, metrics_from_confusion


def reference_scores(pred: np.ndarray, gt: np.ndarray, n: int, ignore: int = 255) -> dict:
    """Per-class IoU / accuracy straight from pixel masks, no confusion matrix involved."""
    valid = gt != ignore
    iou, acc = [], []
    for c in range(n):
        p, g = (pred == c) & valid, (gt == c) & valid
        union, inter = (p | g).sum(), (p & g).sum()
        iou.append(inter / union * 100 if union else math.nan)
        acc.append(inter / g.sum() * 100 if g.sum() else math.nan)
    return {"iou": iou, "acc": acc, "aAcc": ((pred == gt) & valid).sum() / valid.sum() * 100}


def test_hand_computed_matrix_and_scores():
    gt = np.array([[0, 0, 1, 1], [2, 2, 255, 1]])
    pred = np.array([[0, 1, 1, 1], [2, 0, 2, 2]])
    # Counted pixels (gt, pred): (0,0) (0,1) (1,1) (1,1) (2,2) (2,0) (1,2); the 255 pixel is skipped.
    expected = np.array([[1, 1, 0],
                         [0, 2, 1],
                         [1, 0, 1]])
    m = confusion_matrix(pred, gt, num_classes=3)
    assert m.dtype == torch.int64
    np.testing.assert_array_equal(m.numpy(), expected)

    r = metrics_from_confusion(m, ["a", "b", "c"])
    # IoU: a 1/(2+2-1)=1/3, b 2/(3+3-2)=1/2, c 1/(2+2-1)=1/3; Acc: a 1/2, b 2/3, c 1/2.
    assert r["per_class_iou"] == pytest.approx({"a": 100 / 3, "b": 50.0, "c": 100 / 3})
    assert r["per_class_acc"] == pytest.approx({"a": 50.0, "b": 200 / 3, "c": 50.0})
    assert r["mIoU"] == pytest.approx((100 / 3 + 50 + 100 / 3) / 3)
    assert r["mAcc"] == pytest.approx((50 + 200 / 3 + 50) / 3)
    assert r["aAcc"] == pytest.approx(4 / 7 * 100)
    assert r["num_pixels"] == 7


def test_absent_class_is_nan_and_left_out_of_the_mean():
    gt = np.array([0, 0, 1, 1])
    pred = np.array([0, 0, 1, 0])
    r = SegmentationMetric(4, class_names=list("abcd"))
    r.update(pred, gt)
    out = r.compute()
    # c, d: never in gt nor pred -> NaN and excluded. a: 2/3, b: 1/2.
    assert math.isnan(out["per_class_iou"]["c"]) and math.isnan(out["per_class_iou"]["d"])
    assert out["mIoU"] == pytest.approx((200 / 3 + 50) / 2)


def test_predicted_but_absent_class_counts_as_zero_iou():
    gt = np.array([0, 0, 0, 0])
    pred = np.array([0, 0, 0, 1])
    out = metrics_from_confusion(confusion_matrix(pred, gt, 2))
    assert out["per_class_iou"] == pytest.approx({"class_0": 75.0, "class_1": 0.0})
    assert out["mIoU"] == pytest.approx(37.5)
    assert math.isnan(out["per_class_acc"]["class_1"]) and out["mAcc"] == pytest.approx(75.0)


def test_random_masks_match_pixel_formulas_and_torchmetrics():
    from torchmetrics.classification import MulticlassJaccardIndex

    rng = np.random.default_rng(0)
    n = 6
    gt = rng.integers(0, n, size=(3, 17, 23))
    gt[rng.random(gt.shape) < 0.1] = 255
    pred = np.where(rng.random(gt.shape) < 0.6, np.where(gt == 255, 0, gt), rng.integers(0, n, gt.shape))
    metric = SegmentationMetric(n)
    for i in range(3):  # accumulate image by image
        metric.update(pred[i], gt[i])
    out = metric.compute()
    ref = reference_scores(pred, gt, n)
    np.testing.assert_allclose(list(out["per_class_iou"].values()), ref["iou"])
    np.testing.assert_allclose(list(out["per_class_acc"].values()), ref["acc"])
    assert out["aAcc"] == pytest.approx(ref["aAcc"])
    assert out["mIoU"] == pytest.approx(np.nanmean(ref["iou"]))

    jaccard = MulticlassJaccardIndex(num_classes=n, average=None, ignore_index=255)
    tm = jaccard(torch.from_numpy(pred), torch.from_numpy(gt)).numpy() * 100
    np.testing.assert_allclose(list(out["per_class_iou"].values()), tm, rtol=1e-5)


def test_logits_are_argmaxed_and_torch_and_numpy_agree():
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(2, 5, 8, 9, generator=g)
    gt = torch.randint(0, 5, (2, 8, 9), generator=g)
    a = confusion_matrix(logits, gt, 5)
    b = confusion_matrix(logits.argmax(1).numpy(), gt.numpy(), 5)
    assert torch.equal(a, b) and int(a.sum()) == 2 * 8 * 9


def test_matrix_of_shards_sums_to_matrix_of_whole():
    """What DDP relies on: all_reduce(SUM) of per-rank matrices = the single-process matrix."""
    rng = np.random.default_rng(3)
    gt, pred = rng.integers(0, 4, (4, 10, 10)), rng.integers(0, 4, (4, 10, 10))
    whole, rank0, rank1 = SegmentationMetric(4), SegmentationMetric(4), SegmentationMetric(4)
    whole.update(pred, gt)
    rank0.update(pred[:2], gt[:2])
    rank1.update(torch.from_numpy(pred[2:]), torch.from_numpy(gt[2:]))
    rank0.matrix += rank1.matrix  # in-place, as torch.distributed.all_reduce does
    assert torch.equal(rank0.matrix, whole.matrix)
    np.testing.assert_equal(rank0.compute(), whole.compute())
    whole.reset()
    assert int(whole.matrix.sum()) == 0


def test_default_names_and_bad_inputs():
    assert tuple(SegmentationMetric(19).compute()["per_class_iou"]) == CITYSCAPES_CLASSES
    assert list(SegmentationMetric(3).compute()["per_class_iou"]) == ["class_0", "class_1", "class_2"]
    assert math.isnan(SegmentationMetric(3).compute()["mIoU"])
    with pytest.raises(ValueError, match="outside"):
        confusion_matrix(np.array([0, 1]), np.array([0, 26]), 19)  # a labelId, not a trainId
    with pytest.raises(ValueError, match="outside"):
        confusion_matrix(np.array([0, 255]), np.array([0, 1]), 19)
    with pytest.raises(ValueError, match="shape"):
        confusion_matrix(np.zeros((2, 3), int), np.zeros((3, 2), int), 19)
    with pytest.raises(ValueError, match="integers"):
        confusion_matrix(np.zeros((2, 3)), np.zeros((2, 3), int), 19)


masks = st.integers(1, 6).flatmap(
    lambda n: st.tuples(st.just(n),
                        arrays(np.int64, (5, 7), elements=st.sampled_from(list(range(n)) + [255])),
                        arrays(np.int64, (5, 7), elements=st.integers(0, n - 1))))


@settings(max_examples=40, deadline=None)
@given(masks)
def test_properties(data):
    n, gt, pred = data
    out = metrics_from_confusion(confusion_matrix(pred, gt, n))
    valid = gt != 255
    assert out["num_pixels"] == valid.sum()  # ignore pixels are never counted
    if not valid.any():
        return
    assert 0.0 <= out["mIoU"] <= 100.0 and 0.0 <= out["mAcc"] <= 100.0
    # Whatever the prediction says on ignore pixels does not matter.
    other = np.where(valid, pred, (pred + 1) % n)
    np.testing.assert_equal(metrics_from_confusion(confusion_matrix(other, gt, n)), out)  # NaN == NaN
    # Perfect prediction scores 100 on every defined class.
    perfect = metrics_from_confusion(confusion_matrix(np.where(valid, gt, 0), gt, n))
    assert perfect["mIoU"] == perfect["mAcc"] == perfect["aAcc"] == 100.0
    # Renaming the classes permutes the per-class scores and keeps the means.
    perm = np.random.default_rng(n).permutation(n)
    relabel = lambda x: np.where(x == 255, 255, perm[np.minimum(x, n - 1)])  # noqa: E731
    renamed = metrics_from_confusion(confusion_matrix(relabel(pred), relabel(gt), n))
    assert renamed["mIoU"] == pytest.approx(out["mIoU"]) and renamed["aAcc"] == pytest.approx(out["aAcc"])
    iou, riou = list(out["per_class_iou"].values()), list(renamed["per_class_iou"].values())
    np.testing.assert_allclose([riou[perm[c]] for c in range(n)], iou)
    # Shuffling pixel positions (jointly) changes nothing.
    order = np.random.default_rng(0).permutation(gt.size)
    shuffled = metrics_from_confusion(confusion_matrix(pred.ravel()[order], gt.ravel()[order], n))
    np.testing.assert_equal(shuffled, out)


def _ddp_worker(rank: int, init_file: str, pred: np.ndarray, gt: np.ndarray, out: str) -> None:
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=2)
    metric = SegmentationMetric(4)
    metric.update(pred[rank::2], gt[rank::2])  # each rank sees its own half of the images
    dist.all_reduce(metric.matrix)
    if rank == 0:
        np.save(out, metric.matrix.numpy())
    dist.destroy_process_group()


@pytest.mark.timeout(60)  # a wedged process group must fail the test, not hang the suite
def test_all_reduce_over_two_gloo_processes(tmp_path):
    rng = np.random.default_rng(5)
    gt, pred = rng.integers(0, 4, (4, 6, 6)), rng.integers(0, 4, (4, 6, 6))
    out = tmp_path / "matrix.npy"
    # fork: the children need not re-import torch and this module (spawn takes ~8 s on 2 cores).
    torch.multiprocessing.start_processes(_ddp_worker, args=(str(tmp_path / "init"), pred, gt, str(out)),
                                          nprocs=2, start_method="fork")
    expected = np.zeros((4, 4), np.int64)
    np.add.at(expected, (gt.ravel(), pred.ravel()), 1)
    np.testing.assert_array_equal(np.load(out), expected)
