"""Which label ids mask restoration works in, and the checks that keep other ids out.

Two schemes, chosen by config (`labels: label_ids | train_ids`):
- "label_ids": the Cityscapes labelIds 0..33 of *_gtFine_labelIds.png, 34 classes, as the
  paper (its "35 labels" count license plate, whose id is -1 and never appears in a PNG).
  Every pixel of a fine mask is a class (0 = "unlabeled" is one); in a coarse file id 0
  marks the unlabelled gaps.
- "train_ids": the 19 train ids (labelIds through cityscapesscripts' table); 255 is ignore
  in fine masks (not scored, no loss) and the gap value in coarse ones.

Inside the code an incomplete mask marks unknown pixels with UNKNOWN (255) in both schemes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from rain_seg_ros.cli import UserError
from rain_seg_ros.labels import IGNORE_INDEX

Scheme = Literal["label_ids", "train_ids"]
UNKNOWN = IGNORE_INDEX
NUM_LABEL_IDS = 34     # labelIds 0..33
NUM_TRAIN_IDS = 19


class LabelError(UserError, ValueError):
    """A label file holds ids outside the configured set."""


def num_classes(scheme: Scheme) -> int:
    if scheme == "label_ids":
        return NUM_LABEL_IDS
    if scheme == "train_ids":
        return NUM_TRAIN_IDS
    raise ValueError(f"labels must be 'label_ids' or 'train_ids', got {scheme!r}")


def ignore_index(scheme: Scheme) -> int | None:
    """Fine-mask value that is not scored: none for labelIds (0 "unlabeled" is a class)."""
    return IGNORE_INDEX if scheme == "train_ids" else None


def check_ids(mask: np.ndarray, scheme: Scheme, where: str | Path, *, coarse: bool = False) -> np.ndarray:
    """Return `mask` if every id is in the scheme's set, else one LabelError naming the file.

    Args:
        mask: uint8 (H, W) ids in the scheme.
        where: the file the mask came from (for the message).
        coarse: the mask is incomplete, so UNKNOWN (255) is allowed too.
    """
    k = num_classes(scheme)
    allowed_extra = {UNKNOWN} if coarse or scheme == "train_ids" else set()
    values = np.unique(mask)
    bad = [int(v) for v in values if v >= k and int(v) not in allowed_extra]
    if bad:
        raise LabelError(f"{where}: label ids {bad[:8]} are outside the configured set "
                         f"({scheme}: 0..{k - 1}{' and 255' if allowed_extra else ''}); "
                         f"set labels=label_ids or labels=train_ids to match the files")
    return mask


def coarse_to_incomplete(raw: np.ndarray, scheme: Scheme) -> np.ndarray:
    """A coarse label file's ids -> incomplete mask (gaps = UNKNOWN). labelIds mark gaps with 0."""
    if scheme == "label_ids":
        return np.where(raw == 0, UNKNOWN, raw).astype(np.uint8)
    return raw


def incomplete_one_hot(mask: torch.Tensor, k: int) -> torch.Tensor:
    """(B, H, W) ids with UNKNOWN gaps -> (B, k + 1, H, W) float: one-hot + an unknown channel."""
    unknown = mask == UNKNOWN
    ids = torch.where(unknown, torch.full_like(mask, k), mask)
    return F.one_hot(ids.long(), k + 1).permute(0, 3, 1, 2).float()


def fine_one_hot(mask: torch.Tensor, k: int) -> torch.Tensor:
    """(B, H, W) fine ids -> (B, k, H, W) one-hot; ignored (255) pixels get all zeros."""
    valid = mask < k
    ids = torch.where(valid, mask, torch.zeros_like(mask)).long()
    return F.one_hot(ids, k).permute(0, 3, 1, 2).float() * valid.unsqueeze(1)
