"""Semantic-segmentation metrics from a confusion matrix: mIoU, mAcc, aAcc, per-class IoU.

One accumulator serves offline evaluation (numpy masks read from PNGs) and training-time
validation (torch tensors on any device, possibly under DDP):

    metric = SegmentationMetric(num_classes=19, ignore_index=255, device=dist.device)
    for batch in loader:
        metric.update(model(batch["image"]), batch["mask"])   # logits (B,C,H,W) or ids (B,H,W)
    all_reduce_sum(metric.matrix)                             # DDP: sum the counts over ranks
    result = metric.compute()                                 # {"mIoU": 71.3, "mAcc": ..., ...}

Conventions (those of mmseg and the Cityscapes benchmark):
- matrix[t, p] counts pixels of ground-truth class t predicted as class p; pixels whose
  target equals `ignore_index` are never counted.
- IoU_c = TP / (TP + FP + FN); Acc_c = TP / (TP + FN) (per-class recall; the thesis calls its
  mean "mAP"); aAcc = sum(TP) / number of counted pixels. All results are in percent.
- A class absent from both ground truth and prediction has NaN IoU and is left out of mIoU; a
  class absent from the ground truth has NaN accuracy and is left out of mAcc (if it was
  predicted anyway, its IoU is 0 and does lower mIoU).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from rain_seg_ros.labels import CITYSCAPES_CLASSES, IGNORE_INDEX


def default_class_names(num_classes: int) -> tuple[str, ...]:
    """Cityscapes names for 19 classes, otherwise "class_0", "class_1", ..."""
    if num_classes == len(CITYSCAPES_CLASSES):
        return CITYSCAPES_CLASSES
    return tuple(f"class_{i}" for i in range(num_classes))


def _as_tensor(x: np.ndarray | torch.Tensor) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x
    if isinstance(x, np.ndarray):
        x = np.ascontiguousarray(x)
        # torch wants writable memory (PIL hands out read-only arrays); copying a mask is cheap.
        return torch.from_numpy(x if x.flags.writeable else x.copy())
    raise TypeError(f"expected a numpy array or a torch tensor, got {type(x).__name__}")


def confusion_matrix(pred: np.ndarray | torch.Tensor, target: np.ndarray | torch.Tensor,
                     num_classes: int, ignore_index: int | None = IGNORE_INDEX) -> torch.Tensor:
    """Count (target, prediction) pairs over all pixels, on the device the inputs live on.

    Args:
        pred: predicted class ids with the target's shape, e.g. (B, H, W) or (H, W); or
            scores/logits (B, C, H, W) with one more dimension than the target (argmax over dim 1).
        target: ground-truth class ids; pixels equal to `ignore_index` are skipped.
        num_classes: number of classes C; ids must lie in [0, C).
        ignore_index: target value that is not scored (None: every pixel is scored).

    Returns:
        int64 tensor (C, C) on the inputs' device; rows = ground truth, columns = prediction.

    Raises:
        ValueError: on shape mismatch, or an id outside [0, C) in the target (other than
            `ignore_index`) or in the prediction, which usually means labelIds were passed
            where trainIds were expected.
    """
    p, t = _as_tensor(pred), _as_tensor(target)
    if p.dim() == t.dim() + 1:
        p = p.argmax(dim=1)  # (B, C, H, W) scores -> (B, H, W) ids
    if p.shape != t.shape:
        raise ValueError(f"prediction shape {tuple(p.shape)} does not match target shape {tuple(t.shape)}")
    if p.is_floating_point() or t.is_floating_point():
        raise ValueError("class ids must be integers (pass logits with a class dimension to argmax them)")
    # int32 arithmetic is ~4x faster than int64 on CPU; only 8/16-bit ids are sure to fit it.
    wide = max(p.element_size(), t.element_size()) > 2 or num_classes * num_classes >= 2**31
    dtype = torch.int64 if wide else torch.int32
    p = p.to(device=t.device, dtype=dtype).reshape(-1)
    t = t.to(dtype).reshape(-1)
    valid = t != ignore_index if ignore_index is not None else torch.ones_like(t, dtype=torch.bool)
    # One check for both tensors keeps it to a single device sync on GPU.
    bad = valid & ((t < 0) | (t >= num_classes) | (p < 0) | (p >= num_classes))
    if bool(bad.any()):
        bad_t = torch.unique(t[bad & ((t < 0) | (t >= num_classes))]).tolist()[:10]
        bad_p = torch.unique(p[bad & ((p < 0) | (p >= num_classes))]).tolist()[:10]
        raise ValueError(
            f"class ids outside [0, {num_classes}) (ignore_index={ignore_index}): "
            f"target has {bad_t}, prediction has {bad_p}")
    # Ignored pixels go to one extra bin that is dropped: cheaper than boolean indexing.
    index = torch.where(valid, t * num_classes + p, num_classes * num_classes)
    counts = torch.bincount(index, minlength=num_classes * num_classes + 1)[: num_classes * num_classes]
    return counts.reshape(num_classes, num_classes)


def metrics_from_confusion(matrix: np.ndarray | torch.Tensor,
                           class_names: Sequence[str] | None = None) -> dict[str, Any]:
    """Turn a confusion matrix (rows = ground truth) into the result dict, in percent.

    Returns:
        {"mIoU", "mAcc", "aAcc": float, "per_class_iou", "per_class_acc": {name: float (NaN
        where undefined)}, "num_pixels": int}. With no counted pixel every score is NaN.
    """
    m = _as_tensor(matrix).detach().cpu().numpy().astype(np.float64)
    n = m.shape[0]
    if m.shape != (n, n):
        raise ValueError(f"confusion matrix must be square, got {m.shape}")
    names = tuple(class_names) if class_names is not None else default_class_names(n)
    if len(names) != n:
        raise ValueError(f"{len(names)} class names for {n} classes")
    tp = np.diag(m)
    gt_count = m.sum(axis=1)    # TP + FN
    pred_count = m.sum(axis=0)  # TP + FP
    union = gt_count + pred_count - tp
    total = m.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, tp / union, np.nan) * 100.0
        acc = np.where(gt_count > 0, tp / gt_count, np.nan) * 100.0
    return {
        "mIoU": float(np.nanmean(iou)) if np.any(union > 0) else float("nan"),
        "mAcc": float(np.nanmean(acc)) if np.any(gt_count > 0) else float("nan"),
        "aAcc": float(tp.sum() / total * 100.0) if total > 0 else float("nan"),
        "per_class_iou": {name: float(v) for name, v in zip(names, iou)},
        "per_class_acc": {name: float(v) for name, v in zip(names, acc)},
        "num_pixels": int(total),
    }


class SegmentationMetric:
    """Accumulates a confusion matrix over batches; numpy or torch inputs on any device.

    Args:
        num_classes: number of classes C.
        ignore_index: target value that is not scored (255 by default; None scores everything).
        class_names: names keying the per-class results (default: `default_class_names`).
        device: where `.matrix` lives. Counting runs on the inputs' device; only the (C, C)
            counts move. Under DDP with NCCL put the matrix on the process's GPU.

    `.matrix` is a plain int64 (C, C) tensor, so `torch.distributed.all_reduce(metric.matrix)`
    (or `training.engine.distributed.all_reduce_sum`) sums it over processes in place.
    """

    def __init__(self, num_classes: int, ignore_index: int | None = IGNORE_INDEX,
                 class_names: Sequence[str] | None = None,
                 device: str | torch.device = "cpu") -> None:
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.class_names = tuple(class_names) if class_names is not None else default_class_names(num_classes)
        if len(self.class_names) != num_classes:
            raise ValueError(f"{len(self.class_names)} class names for {num_classes} classes")
        self.matrix = torch.zeros(num_classes, num_classes, dtype=torch.int64, device=device)

    @torch.no_grad()
    def update(self, pred: np.ndarray | torch.Tensor, target: np.ndarray | torch.Tensor) -> None:
        """Add one batch (or one image); see `confusion_matrix` for the accepted shapes."""
        counts = confusion_matrix(pred, target, self.num_classes, self.ignore_index)
        self.matrix += counts.to(self.matrix.device)

    def compute(self) -> dict[str, Any]:
        """mIoU, mAcc, aAcc (percent), per-class IoU/accuracy by name, counted pixels."""
        return metrics_from_confusion(self.matrix, self.class_names)

    def reset(self) -> None:
        self.matrix.zero_()
