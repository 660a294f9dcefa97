"""Run records of train-dannet: metrics.jsonl lines and the night | relit | prediction grid."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from rain_seg_ros.labels import CITYSCAPES_PALETTE
from training.models.dannet import DANNetSegmenter


def trim_log(path: Path, step: int) -> None:
    """Drop log lines past the resumed step (the killed run's tail); a fresh run starts empty."""
    if path.is_file():
        lines = [ln for ln in path.read_text().splitlines() if ln and json.loads(ln)["step"] <= step]
        path.write_text("".join(ln + "\n" for ln in lines))


def class_colours(num_classes: int) -> torch.Tensor:
    """(K, 3) colours in [0, 1]: Cityscapes' for up to 19 classes, a fixed spread otherwise."""
    if num_classes <= len(CITYSCAPES_PALETTE):
        rgb = CITYSCAPES_PALETTE[:num_classes]
    else:
        rgb = tuple((i * 37 % 256, i * 91 % 256, i * 53 % 256) for i in range(num_classes))
    return torch.tensor(rgb, dtype=torch.float32) / 255.0


@torch.no_grad()
def night_grid(model: DANNetSegmenter, night: torch.Tensor, relit: torch.Tensor | None,
               logits: torch.Tensor | None, num_classes: int) -> torch.Tensor:
    """Rows night | relit | prediction, up to 4 columns; relit and logits are computed when None."""
    k = min(4, night.shape[0])
    if relit is None or logits is None:
        relit = model.relit(night[:k])
        logits = model.segment(night[:k])
    colour = class_colours(num_classes).to(logits.device)[logits[:k].argmax(1)].permute(0, 3, 1, 2)
    return torch.cat([night[:k], relit[:k].clamp(0, 1), colour]).detach().float().cpu()
