"""`build_dataset(name, root, split, transform=None, **kw)`: every reader behind one call.

Segmentation names return a SegmentationDataset (samples {"image", "mask", "name"}), pair names a
PairDataset ({"rainy", "clean", "name"}). Extra keyword arguments go to the reader (see
docs/datasets.md); pair readers all accept crop_size=(H, W) | int and random_crop=True | False.

Example:
    from training.data import build_dataset, DATASET_NAMES
    ds = build_dataset("acdc", "/data/acdc", "val", condition="rain")
    pairs = build_dataset("rain100h", "/data/Rain100H", "train", crop_size=128)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from training.data.acdc import build_acdc
from training.data.base import PairDataset, PairItem, PairTransform, SegmentationDataset
from training.data.bdd100k import build_bdd100k
from training.data.cityscapes import build_cityscapes
from training.data.dark_zurich import build_dark_zurich
from training.data.kitti import build_kitti
from training.data.rain_pairs import find_paired_folder, find_rain100, find_rain1400
from training.data.rain_pairs_extra import find_rain1200, find_spa, find_test100

SEGMENTATION_DATASETS: dict[str, Callable[..., SegmentationDataset]] = {
    "cityscapes": build_cityscapes,
    "cityscapes_coarse": lambda root, split, transform=None, **kw: build_cityscapes(
        root, split, transform, mode="coarse", **kw),
    "kitti": build_kitti,
    "acdc": build_acdc,
    "dark_zurich": build_dark_zurich,
    "bdd100k": build_bdd100k,
    "bdd100k_day": lambda root, split, transform=None, **kw: build_bdd100k(
        root, split, transform, timeofday="daytime", **kw),
    "bdd100k_night": lambda root, split, transform=None, **kw: build_bdd100k(
        root, split, transform, timeofday="night", **kw),
}


def _only_test(name: str, split: str) -> str:
    if split != "test":
        raise ValueError(f"{name} has only the 'test' split, got {split!r}")
    return split


# name -> (root, split, **reader kwargs) -> list of pairs
PAIR_FINDERS: dict[str, Callable[..., list[PairItem]]] = {
    "rain100h": lambda root, split: find_rain100(root, split, heavy=True),
    "rain100l": lambda root, split: find_rain100(root, split, heavy=False),
    "rain1200": find_rain1200,
    "test1200": lambda root, split="test", rainy_side="left": find_rain1200(
        root, _only_test("test1200", split), rainy_side=rainy_side),
    "rain1400": find_rain1400,
    "test100": find_test100,
    "spa": find_spa,
    "paired_folder": find_paired_folder,
}

DATASET_NAMES: tuple[str, ...] = (*SEGMENTATION_DATASETS, *PAIR_FINDERS)


def is_pair_dataset(name: str) -> bool:
    return name in PAIR_FINDERS


def build_dataset(name: str, root: str | Path, split: str, transform: Any = None, **kw: Any
                  ) -> SegmentationDataset | PairDataset:
    """Build dataset `name` from `root` (the dataset's top folder) for `split`.

    Args:
        name: one of DATASET_NAMES.
        root: dataset folder in the official layout (docs/datasets.md).
        split: "train", "val", "test", ... as the dataset defines them.
        transform: joint (image, mask) or (rainy, clean) transform on uint8 arrays.
        **kw: reader options (condition=, time=, return_ref=, timeofday=, variant=, crop_size=, ...).
    """
    if name in SEGMENTATION_DATASETS:
        return SEGMENTATION_DATASETS[name](root, split, transform, **kw)
    if name in PAIR_FINDERS:
        crop_size = kw.pop("crop_size", None)
        random_crop = kw.pop("random_crop", True)
        items = PAIR_FINDERS[name](Path(root), split, **kw)
        pair_transform: PairTransform | None = transform
        return PairDataset(items, crop_size=crop_size, random_crop=random_crop, transform=pair_transform,
                           description=f"{name} {root} [{split}]")
    raise ValueError(f"unknown dataset {name!r}; known: {', '.join(DATASET_NAMES)}")
