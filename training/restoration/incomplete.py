"""Incomplete masks made from fine ones: the two tasks of the paper.

- "sparse" (gtCoarse-like): every connected region of a class is eroded away from its
  boundary by `erode_px` pixels, regions smaller than `min_area` pixels (poles, signs, far
  people) are dropped whole, and each remaining region is dropped with probability `drop_p`
  (the unlabelled gaps of gtCoarse, where annotators drew no polygon).
- "sr8": x`factor` super-resolution input: the mask sampled at the centre of each
  factor x factor block (nearest downsampling, as PIL's NEAREST resize samples) and blown
  back up by repetition to the original size.

Unknown pixels get UNKNOWN (255). Both functions are pure numpy on (H, W) uint8 masks.

Example:
    rng = np.random.default_rng(0)
    coarse = make_incomplete(fine, IncompleteConfig(task="sparse"), rng)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import ndimage

from training.restoration.labels import UNKNOWN


@dataclass
class IncompleteConfig:
    """How incomplete masks are made (see the module docstring)."""

    task: Literal["sparse", "sr8"] = "sparse"
    erode_px: int = 3          # sparse: pixels removed from every region boundary
    min_area: int = 64         # sparse: regions smaller than this (in pixels, before erosion) vanish
    drop_p: float = 0.1        # sparse: chance that a whole region is left unlabelled
    factor: int = 8            # sr8: downsampling factor


def coarse_mask(fine: np.ndarray, *, erode_px: int, min_area: int, drop_p: float,
                rng: np.random.Generator, ignore: int | None = None) -> np.ndarray:
    """gtCoarse-style incomplete mask of `fine` (uint8 (H, W)); `ignore` pixels become unknown."""
    out = np.full_like(fine, UNKNOWN)
    structure = ndimage.generate_binary_structure(2, 1)   # 4-connectivity
    for cls in np.unique(fine):
        if ignore is not None and cls == ignore:
            continue
        region = fine == cls
        labels, count = ndimage.label(region, structure=structure)
        areas = np.bincount(labels.ravel(), minlength=count + 1)
        keep = areas >= min_area
        keep[0] = False
        keep[1:] &= rng.random(count) >= drop_p
        kept = keep[labels]
        if erode_px > 0:
            # Erosion of the class region erodes each of its regions from its own boundary;
            # the image border is not a boundary (border_value=1).
            kept &= ndimage.binary_erosion(region, structure=structure, iterations=erode_px, border_value=1)
        out[kept] = cls
    return out


def downsample_mask(fine: np.ndarray, factor: int) -> np.ndarray:
    """x`factor` nearest down- then up-sampling of a (H, W) mask, back at (H, W)."""
    if factor < 1:
        raise ValueError(f"factor must be >= 1, got {factor}")
    h, w = fine.shape
    ys = np.minimum(np.arange(0, h, factor) + factor // 2, h - 1)
    xs = np.minimum(np.arange(0, w, factor) + factor // 2, w - 1)
    small = fine[np.ix_(ys, xs)]                               # (ceil(H/f), ceil(W/f))
    return np.repeat(np.repeat(small, factor, 0), factor, 1)[:h, :w].copy()


def make_incomplete(fine: np.ndarray, cfg: IncompleteConfig, rng: np.random.Generator,
                    ignore: int | None = None) -> np.ndarray:
    """The incomplete mask of `fine` for cfg.task (uint8 (H, W), UNKNOWN = 255 where unknown)."""
    if cfg.task == "sparse":
        return coarse_mask(fine, erode_px=cfg.erode_px, min_area=cfg.min_area, drop_p=cfg.drop_p,
                           rng=rng, ignore=ignore)
    if cfg.task == "sr8":
        small = downsample_mask(fine, cfg.factor)
        if ignore is not None:
            small[small == ignore] = UNKNOWN
        return small
    raise ValueError(f"task must be 'sparse' or 'sr8', got {cfg.task!r}")
