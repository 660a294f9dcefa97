"""Score a condition estimator: 4x4 confusion matrix over {clear, rain, night, rain+night},
per-head accuracy, rain-intensity error.

A sample counts in the confusion matrix only when its source knows both facts; a head's
accuracy uses every sample that knows that head's fact; the intensity error every sample
with a known intensity. Predictions threshold each head at 0.5.

Example:
    model, meta = load_condition_model("runs/condition")
    scores = evaluate_condition(model, dataset, mean=meta["mean"], std=meta["std"])
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from rain_seg_ros.condition import CONDITION_NAMES
from rain_seg_ros.labels import IMAGENET_MEAN, IMAGENET_STD
from training.engine import checkpoint as ckpt
from training.segmenter.evaluation import normalise


def confusion_matrix(true: np.ndarray, pred: np.ndarray,
                     num_classes: int = len(CONDITION_NAMES)) -> np.ndarray:
    """(K, K) int64 counts, rows = true class, columns = predicted class."""
    true, pred = np.asarray(true, np.int64), np.asarray(pred, np.int64)
    return np.bincount(true * num_classes + pred, minlength=num_classes**2).reshape(num_classes, num_classes)


def condition_scores(outputs: np.ndarray, targets: np.ndarray) -> dict[str, Any]:
    """Scores of (N, 3) network outputs [P(rain), P(night), intensity] against (N, 3) targets
    [rain, night, intensity] (-1 = unknown)."""
    pred = (outputs[:, :2] >= 0.5).astype(np.int64)                 # (N, 2)
    known = targets[:, :2] >= 0                                      # (N, 2)
    both = known.all(axis=1)
    true_idx = targets[both, 0].astype(np.int64) + 2 * targets[both, 1].astype(np.int64)
    pred_idx = pred[both, 0] + 2 * pred[both, 1]
    cm = confusion_matrix(true_idx, pred_idx)
    scores: dict[str, Any] = {
        "samples": int(len(targets)),
        "classes": list(CONDITION_NAMES),
        "confusion_matrix": cm.tolist(),
        "accuracy": float(np.trace(cm) / cm.sum()) if cm.sum() else None,
        "per_class_recall": {name: (float(cm[i, i] / cm[i].sum()) if cm[i].sum() else None)
                             for i, name in enumerate(CONDITION_NAMES)},
    }
    for j, head in enumerate(("rain", "night")):
        k = known[:, j]
        scores[f"{head}_accuracy"] = float((pred[k, j] == targets[k, j]).mean()) if k.any() else None
        scores[f"{head}_samples"] = int(k.sum())
    has = targets[:, 2] >= 0
    err = outputs[has, 2] - targets[has, 2]
    scores["intensity_samples"] = int(has.sum())
    scores["intensity_mae"] = float(np.abs(err).mean()) if has.any() else None
    scores["intensity_rmse"] = float(np.sqrt((err**2).mean())) if has.any() else None
    rainy = has & (targets[:, 0] == 1)
    scores["intensity_mae_rainy"] = (float(np.abs(outputs[rainy, 2] - targets[rainy, 2]).mean())
                                     if rainy.any() else None)
    return scores


@torch.no_grad()
def predict(model: torch.nn.Module, dataset: Dataset, *, device: str | torch.device = "cpu",
            batch_size: int = 32, num_workers: int = 0, mean: Sequence[float] = IMAGENET_MEAN,
            std: Sequence[float] = IMAGENET_STD) -> tuple[np.ndarray, np.ndarray]:
    """(N, 3) outputs and (N, 3) targets over the dataset, in its order."""
    was_training = model.training
    model.eval()
    outs, targets = [], []
    for batch in DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers):
        x = normalise(batch["image"].to(device), mean, std)    # (B, 3, H, W)
        outs.append(model(x).float().cpu().numpy())            # (B, 3)
        targets.append(batch["target"].numpy())
    model.train(was_training)
    return np.concatenate(outs), np.concatenate(targets)


def evaluate_condition(model: torch.nn.Module, dataset: Dataset, **kwargs: Any) -> dict[str, Any]:
    outputs, targets = predict(model, dataset, **kwargs)
    return condition_scores(outputs, targets)


def load_condition_model(checkpoint: str | Path, device: str | torch.device = "cpu"
                         ) -> tuple[torch.nn.Module, dict[str, Any]]:
    """The "model" of a condition checkpoint (eval mode) and its extra metadata; a checkpoint of
    another kind is one CheckpointError naming it."""
    _, meta, _ = ckpt.read_metadata(checkpoint)
    if meta.get("task") != "condition":
        raise ckpt.CheckpointError(f"{checkpoint} is a {meta.get('task')!r} checkpoint, not a condition "
                                   "estimator (python -m training train-condition writes those)")
    return ckpt.load_modules(checkpoint, ["model"], device=device)["model"], meta
