"""Evaluation metrics shared by the training, evaluation and replay code.

- segmentation: `SegmentationMetric` (confusion-matrix accumulator: mIoU, mAcc, aAcc),
  `confusion_matrix`, `metrics_from_confusion`.
- restoration: PSNR / SSIM on RGB or the BT.601 Y channel, numpy (`psnr`, `ssim`) and
  batched torch (`psnr_torch`, `ssim_torch`).
See docs/metrics.md.
"""

from training.metrics.restoration import psnr, psnr_torch, rgb_to_y, rgb_to_y_torch, ssim, ssim_torch
from training.metrics.segmentation import (
    SegmentationMetric,
    confusion_matrix,
    default_class_names,
    metrics_from_confusion,
)

__all__ = [
    "SegmentationMetric", "confusion_matrix", "default_class_names", "metrics_from_confusion",
    "psnr", "psnr_torch", "rgb_to_y", "rgb_to_y_torch", "ssim", "ssim_torch",
]
