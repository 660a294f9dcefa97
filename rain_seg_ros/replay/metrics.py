"""Confusion-matrix segmentation metrics (the runtime may not import `training`, see DESIGN.md).

    >>> import numpy as np
    >>> cm = confusion_matrix(np.array([[0, 1]]), np.array([[0, 0]]), num_classes=2)
    >>> round(scores_from_confusion(cm)["miou"], 3)
    0.25
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rain_seg_ros.labels import IGNORE_INDEX


def confusion_matrix(pred: np.ndarray, gt: np.ndarray, num_classes: int,
                     ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """(C, C + 1) int64 counts: rows = ground-truth class, columns = predicted class.

    Pixels whose ground truth is `ignore_index` or outside [0, C) are skipped. A prediction
    outside [0, C) (the node's 255 for "unsure") goes to the extra last column: a miss for
    its ground-truth class that is nobody's false positive.
    """
    if pred.shape != gt.shape:
        raise ValueError(f"prediction {pred.shape} and ground truth {gt.shape} differ in shape")
    gt = gt.astype(np.int64).ravel()
    pred = pred.astype(np.int64).ravel()
    valid = (gt != ignore_index) & (gt >= 0) & (gt < num_classes)
    gt, pred = gt[valid], pred[valid]
    pred = np.where((pred >= 0) & (pred < num_classes), pred, num_classes)
    counts = np.bincount(gt * (num_classes + 1) + pred, minlength=num_classes * (num_classes + 1))
    return counts.reshape(num_classes, num_classes + 1).astype(np.int64)


def scores_from_confusion(cm: np.ndarray) -> dict[str, Any]:
    """mIoU over classes present in ground truth or prediction, per-class IoU (None if absent),
    and pixel accuracy."""
    num_classes = cm.shape[0]
    tp = np.diag(cm[:, :num_classes]).astype(np.float64)
    gt_pixels = cm.sum(axis=1).astype(np.float64)          # includes misses to "invalid"
    pred_pixels = cm[:, :num_classes].sum(axis=0).astype(np.float64)
    union = gt_pixels + pred_pixels - tp
    present = union > 0
    iou = np.divide(tp, union, out=np.zeros_like(tp), where=present)
    total = gt_pixels.sum()
    return {
        "miou": float(iou[present].mean()) if present.any() else float("nan"),
        "per_class_iou": [float(v) if p else None for v, p in zip(iou, present)],
        "pixel_accuracy": float(tp.sum() / total) if total else float("nan"),
        "labelled_pixels": int(total),
    }
