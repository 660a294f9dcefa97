"""DANNet's data: the labelled source set and the unlabelled target day/night pairs.

The source goes through the segmenter's training transform (scale, crop, flip, jitter).
A target pair is cropped and flipped jointly, then the day image is shifted and zoomed at
random against the night one (`target.misalign_px`, `target.misalign_scale`), so pixel-aligned
procedural twins are as roughly aligned as Dark Zurich's GPS pairs and the static loss's 3x3
tolerance is exercised.

Example:
    source = build_source(cfg)                 # {"image", "mask", "name"}
    pairs = build_target_pairs(cfg)            # {"day", "night"} (3, h, w) in [0, 1]
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from training.dannet.config import TargetConfig, TrainDANNetConfig
from training.segmenter.config import DataSource
from training.segmenter.data import build_train_transform, open_dataset


def _open(source: DataSource, where: str, transform: Any = None, **kw: Any) -> Any:
    """open_dataset with one-line errors that name the config key."""
    from training.data.base import DatasetLayoutError

    if not source.root:
        raise ValueError(f"{where}.root is not set (e.g. {where}.root=/data/scenes)")
    try:
        dataset = open_dataset(DataSource(source.dataset, source.root, source.split, 1,
                                          {**source.kwargs, **kw}), transform)
    except DatasetLayoutError as exc:
        hint = "; generate procedural twins with `generate-scenes --night`" if "night" in where else ""
        raise ValueError(f"{where}: {exc}{hint}") from exc
    if len(dataset) == 0:  # type: ignore[arg-type]
        raise ValueError(f"{where}: {source.dataset} at {source.root} ({source.split}) has no images")
    return dataset


def build_source(cfg: TrainDANNetConfig) -> Any:
    return _open(cfg.source, "source", build_train_transform(cfg.augment, seed=cfg.seed))


class TargetPairs(Dataset):
    """Target day/night pairs as {"day", "night"} float (3, h, w) crops in [0, 1].

    Args:
        night, day: datasets of {"image", ...} samples (day None with pairing "ref").
        crop: [h, w] of the shared crop.
        target: pairing, size and misalignment options.
        flip: horizontal flip probability (both images).
    """

    def __init__(self, night: Any, day: Any | None, crop: list[int], target: TargetConfig, flip: float = 0.5):
        self.night, self.day, self.crop, self.target, self.flip = night, day, crop, target, flip

    def __len__(self) -> int:
        return len(self.night)

    def _day(self, index: int, night_sample: dict[str, Any]) -> torch.Tensor:
        if self.target.pairing == "ref":
            return night_sample["ref"]
        assert self.day is not None
        if self.target.pairing == "random":
            index = int(torch.randint(len(self.day), ()))
        return self.day[index]["image"]

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        sample = self.night[index]
        night = sample["image"][None]                                  # (1, 3, H, W)
        day = self._day(index, sample)[None]
        size = tuple(self.target.size) if self.target.size else tuple(night.shape[-2:])
        ch, cw = self.crop
        size = (max(size[0], ch), max(size[1], cw))                    # never smaller than the crop
        night = _resize(night, size)
        day = _resize(day, size)
        y = int(torch.randint(size[0] - ch + 1, ()))
        x = int(torch.randint(size[1] - cw + 1, ()))
        night, day = night[..., y:y + ch, x:x + cw], day[..., y:y + ch, x:x + cw]
        if float(torch.rand(())) < self.flip:
            night, day = night.flip(-1), day.flip(-1)
        day = misalign(day, self.target.misalign_px, self.target.misalign_scale)
        return {"day": day[0], "night": night[0]}


def _resize(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if tuple(image.shape[-2:]) == size:
        return image
    return F.interpolate(image, size=size, mode="bilinear", align_corners=False)


def misalign(image: torch.Tensor, max_px: int, max_scale: float) -> torch.Tensor:
    """Shift (B, 3, h, w) by up to ±max_px pixels and zoom in by up to 1 + max_scale, at random."""
    if max_px <= 0 and max_scale <= 0:
        return image
    h, w = image.shape[-2:]
    scale = 1.0 + float(torch.rand(())) * max_scale
    dx, dy = ((torch.rand(2) * 2 - 1) * max_px).round().tolist()
    # affine_grid works in [-1, 1] coordinates: a shift of d pixels is 2d / size.
    theta = torch.tensor([[1.0 / scale, 0.0, -2.0 * dx / w], [0.0, 1.0 / scale, -2.0 * dy / h]])
    grid = F.affine_grid(theta[None].expand(image.shape[0], -1, -1), list(image.shape), align_corners=False)
    return F.grid_sample(image, grid, mode="bilinear", padding_mode="border", align_corners=False)


def build_target_pairs(cfg: TrainDANNetConfig) -> TargetPairs:
    """The target pairs, checked: night images exist, and day/night counts pair up."""
    t = cfg.target
    night = _open(t.night, "target.night", return_ref=True) if t.pairing == "ref" else \
        _open(t.night, "target.night")
    day = None
    if t.pairing != "ref":
        day = _open(t.day, "target.day")
        if t.pairing == "index" and len(day) != len(night):
            raise ValueError(f"target: {len(day)} day images ({t.day.root}) and {len(night)} night images "
                             f"({t.night.root}) cannot be paired by index; use target.pairing=random for "
                             f"unpaired sets or ref for sets with day references")
    if t.misalign_px < 0 or t.misalign_scale < 0:
        raise ValueError("target.misalign_px and target.misalign_scale must be >= 0")
    return TargetPairs(night, day, cfg.augment.crop_size, t, flip=cfg.augment.hflip_p)
