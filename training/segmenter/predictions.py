"""Saving a segmenter's predictions: label PNGs (train ids) and colour overlays.

Layout under DIR:
    DIR/labels/<name>.png     uint8 train ids (255 = ignore), readable by evaluate-masks
    DIR/overlays/<name>.png   the image the model saw, blended with the Cityscapes palette
    DIR/labelIds/<name>.png   with label_ids=True: uint8 Cityscapes labelIds (cityscapesScripts'
                              trainId -> id table; ignore -> 0 "unlabeled"), the format the
                              Cityscapes, ACDC and Dark Zurich benchmark servers score
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from rain_seg_ros.labels import CITYSCAPES_PALETTE, colorize


class PredictionWriter:
    """Callable(name, image (3, H, W) [0, 1], pred (H, W)) writing both files.

    Args:
        out: output directory.
        alpha: weight of the colour mask in the overlay.
        palette: class colours (Cityscapes by default).
    """

    def __init__(self, out: str | Path, alpha: float = 0.5,
                 palette: tuple[tuple[int, int, int], ...] = CITYSCAPES_PALETTE, label_ids: bool = False):
        self.label_ids = Path(out) / "labelIds" if label_ids else None
        self.to_label_id = train_id_to_label_id_lut() if label_ids else None
        if self.label_ids is not None:
            self.label_ids.mkdir(parents=True, exist_ok=True)
        self.labels = Path(out) / "labels"
        self.overlays = Path(out) / "overlays"
        self.labels.mkdir(parents=True, exist_ok=True)
        self.overlays.mkdir(parents=True, exist_ok=True)
        self.alpha = alpha
        self.palette = palette

    def __call__(self, name: str, image: torch.Tensor, pred: torch.Tensor) -> None:
        mask = pred.to(torch.uint8).cpu().numpy()                                  # (H, W)
        rgb = (image.detach().float().clamp(0, 1).cpu().numpy().transpose(1, 2, 0) * 255.0)  # (H, W, 3)
        colour = colorize(mask, self.palette).astype(np.float32)
        overlay = (1.0 - self.alpha) * rgb + self.alpha * colour
        Image.fromarray(mask).save(self.labels / f"{name}.png")
        if self.label_ids is not None and self.to_label_id is not None:
            Image.fromarray(self.to_label_id[mask]).save(self.label_ids / f"{name}.png")
        Image.fromarray(np.clip(overlay + 0.5, 0, 255).astype(np.uint8)).save(self.overlays / f"{name}.png")


def train_id_to_label_id_lut() -> np.ndarray:
    """(256,) uint8 lookup trainId -> Cityscapes labelId from cityscapesscripts' table; every
    other value (255 = ignore) -> 0, "unlabeled", which the benchmark servers do not score."""
    from cityscapesscripts.helpers.labels import trainId2label

    lut = np.zeros(256, dtype=np.uint8)
    for train_id, label in trainId2label.items():
        if 0 <= train_id < 255:
            lut[train_id] = label.id
    return lut
