"""Segmenter inference and scoring, shared by validation during training and `evaluate`.

Scores come from training.metrics.SegmentationMetric (confusion matrix; mIoU, mAcc, aAcc in
percent). Under DDP each process scores every world_size-th image and the confusion
matrices are summed, so the result equals a single-process run.

Example:
    scores = evaluate_segmenter(model, val_set, num_classes=19, device="cpu")
    scores["mIoU"], scores["per_class_iou"]["road"]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, Subset
from tqdm import tqdm

from rain_seg_ros.labels import IGNORE_INDEX, IMAGENET_MEAN, IMAGENET_STD
from training.engine.distributed import all_reduce_sum

ImageFn = Callable[[torch.Tensor, int], torch.Tensor]  # (images (B,3,H,W) [0,1], index) -> same
PredictionFn = Callable[[str, torch.Tensor, torch.Tensor], None]  # (name, image, pred (H, W))


def normalise(images: torch.Tensor, mean: Sequence[float] = IMAGENET_MEAN,
              std: Sequence[float] = IMAGENET_STD) -> torch.Tensor:
    """(B, 3, H, W) in [0, 1] -> (B, 3, H, W) standardised with per-channel mean/std."""
    m = torch.as_tensor(mean, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
    s = torch.as_tensor(std, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
    return (images - m) / s


def predict_logits(model: torch.nn.Module, images: torch.Tensor,
                   input_size: Sequence[int] | None = None, mean: Sequence[float] = IMAGENET_MEAN,
                   std: Sequence[float] = IMAGENET_STD) -> torch.Tensor:
    """Logits (B, K, H, W) at the images' size; the network sees `input_size` when given."""
    size = images.shape[-2:]
    x = images
    if input_size is not None and tuple(input_size) != tuple(size):
        x = F.interpolate(images, size=tuple(input_size), mode="bilinear", align_corners=False)
    logits = model(normalise(x, mean, std))
    if logits.shape[-2:] != size:
        logits = F.interpolate(logits, size=size, mode="bilinear", align_corners=False)
    return logits


@torch.no_grad()
def evaluate_segmenter(model: torch.nn.Module, dataset: Dataset, *, num_classes: int,
                       class_names: Sequence[str] | None = None, ignore_index: int = IGNORE_INDEX,
                       device: str | torch.device = "cpu", input_size: Sequence[int] | None = None,
                       image_fn: ImageFn | None = None, on_prediction: PredictionFn | None = None,
                       mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD,
                       rank: int = 0, world_size: int = 1, num_workers: int = 0,
                       progress: bool = False, desc: str = "evaluate") -> dict[str, Any]:
    """mIoU / mAcc / aAcc / per-class IoU of `model` on `dataset` (batch 1, any image sizes).

    Args:
        image_fn: applied to each [0, 1] image before the model (rainify, derain); gets the
            sample index so that random choices can be seeded per image.
        on_prediction: called with (name, image as seen by the model, argmax mask) per image.
        rank, world_size: this process's share of the images under DDP.
    """
    from training.metrics import SegmentationMetric

    was_training = model.training
    model.eval()
    metric = SegmentationMetric(num_classes, ignore_index, class_names, device=device)
    indices = list(range(rank, len(dataset), world_size))  # type: ignore[arg-type]
    loader = DataLoader(Subset(dataset, indices), batch_size=1, num_workers=num_workers)
    for index, sample in zip(indices, tqdm(loader, desc=desc, disable=not progress, leave=False)):
        image = sample["image"].to(device)  # (1, 3, H, W)
        mask = sample["mask"].to(device)    # (1, H, W)
        if image_fn is not None:
            image = image_fn(image, index)
        pred = predict_logits(model, image, input_size, mean, std).argmax(1)  # (1, H, W)
        metric.update(pred, mask)
        if on_prediction is not None:
            on_prediction(sample["name"][0], image[0], pred[0])
    all_reduce_sum(metric.matrix)
    model.train(was_training)
    return metric.compute()


def evaluate_checkpoint(checkpoint: str | Path, dataset: Dataset, *, device: str | torch.device = "cpu",
                        input_size: Sequence[int] | None = None, image_fn: ImageFn | None = None,
                        on_prediction: PredictionFn | None = None, progress: bool = False) -> dict[str, Any]:
    """Rebuild the segmenter of a checkpoint and score it; class names, ignore index and
    mean/std come from the checkpoint's metadata, never from flags."""
    model, meta = load_segmenter(checkpoint, device)
    return evaluate_segmenter(model, dataset, num_classes=meta["num_classes"],
                              class_names=meta["class_names"], ignore_index=meta["ignore_index"],
                              device=device, input_size=input_size, image_fn=image_fn,
                              on_prediction=on_prediction, mean=meta["mean"], std=meta["std"],
                              progress=progress)


def load_segmenter(checkpoint: str | Path, device: str | torch.device = "cpu"
                   ) -> tuple[torch.nn.Module, dict[str, Any]]:
    """(model in eval mode, extra_meta) of a segmenter checkpoint."""
    from training.engine import checkpoint as ckpt

    _, meta, _ = ckpt.read_metadata(checkpoint)
    if meta.get("task") != "segmentation":
        raise ckpt.CheckpointError(f"{checkpoint} is not a segmenter checkpoint (task={meta.get('task')!r})")
    model = ckpt.load_modules(checkpoint, ["model"], device=device)["model"]
    return model, meta


def json_safe(value: Any) -> Any:
    """NaN (a class absent from prediction and ground truth) -> null: strict JSON, as evaluate-masks."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    return value
