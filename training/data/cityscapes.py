"""Cityscapes (fine and coarse) and the procedural scenes that share its layout.

Official layout (https://www.cityscapes-dataset.com, cityscapesscripts):
    ROOT/leftImg8bit/<split>/<city>/<city>_<seq>_<frame>_leftImg8bit.png
    ROOT/gtFine/<split>/<city>/<city>_<seq>_<frame>_gtFine_labelIds.png      (fine: train/val/test)
    ROOT/gtCoarse/<split>/<city>/<city>_<seq>_<frame>_gtCoarse_labelIds.png  (coarse: train/train_extra/val)
labelIds are mapped to the 19 train ids with cityscapesscripts' own table (never a copy of it).
`generate-scenes --out OUT` writes the same layout under OUT/cityscapes, OUT/cityscapes_rain and
OUT/cityscapes_night: pass ROOT=OUT with variant="clean" | "rain" | "night", or the folder itself.

Example:
    ds = build_dataset("cityscapes", "/tmp/scenes", "train", variant="rain")
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from rain_seg_ros.labels import IGNORE_INDEX
from training.data.base import (
    DatasetLayoutError,
    SegItem,
    SegmentationDataset,
    SegTransform,
    images_in_groups,
)

IMAGE_SUFFIX = "_leftImg8bit.png"
SPLITS = {"fine": ("train", "val", "test"), "coarse": ("train", "train_extra", "val")}
VARIANT_DIRS = {"clean": "cityscapes", "rain": "cityscapes_rain", "night": "cityscapes_night"}


@lru_cache(maxsize=1)
def label_id_to_train_id_lut() -> np.ndarray:
    """(256,) uint8 lookup labelId -> trainId from cityscapesscripts.helpers.labels; 255 elsewhere."""
    from cityscapesscripts.helpers.labels import labels

    lut = np.full(256, IGNORE_INDEX, dtype=np.uint8)
    for label in labels:
        # id -1 (license plate) never appears in a uint8 labelIds image; trainId -1/255 = ignore.
        if 0 <= label.id < 256 and 0 <= label.trainId < IGNORE_INDEX:
            lut[label.id] = label.trainId
    lut.setflags(write=False)
    return lut


def resolve_variant_root(root: Path, variant: str | None) -> Path:
    """ROOT/<variant dir> (generate-scenes output) if present, else ROOT itself if it is one."""
    if variant is not None and variant not in VARIANT_DIRS:
        raise ValueError(f"variant must be one of {sorted(VARIANT_DIRS)}, got {variant!r}")
    sub = root / VARIANT_DIRS[variant or "clean"]
    if (sub / "leftImg8bit").is_dir():
        return sub
    # A plain Cityscapes root is the clean variant; a variant folder named directly is itself.
    named = [key for key, folder in VARIANT_DIRS.items() if folder == root.name]
    if (root / "leftImg8bit").is_dir() and variant in (None, "clean", *named):
        return root
    raise DatasetLayoutError(
        f"cityscapes: expected {root}/leftImg8bit/<split>/<city>/*{IMAGE_SUFFIX} "
        f"(or {sub}/leftImg8bit/... for variant {variant or 'clean'!r}); neither exists")


def find_cityscapes(root: Path, split: str, mode: str = "fine") -> list[SegItem]:
    """Image/label pairs of one split; every image must have its label (test split excepted)."""
    if mode not in SPLITS:
        raise ValueError(f"mode must be 'fine' or 'coarse', got {mode!r}")
    if split not in SPLITS[mode]:
        raise ValueError(f"cityscapes {mode} splits are {SPLITS[mode]}, got {split!r}")
    gt_dir = "gtFine" if mode == "fine" else "gtCoarse"
    image_root = root / "leftImg8bit" / split
    images = images_in_groups("cityscapes", image_root, "city", IMAGE_SUFFIX)
    # The official test labels are void placeholders; a test split without gt*/test is unlabelled.
    labelled = (root / gt_dir / split).is_dir()
    if not labelled and split != "test":
        raise DatasetLayoutError(
            f"cityscapes: expected labels under {root / gt_dir / split}/<city>/"
            f"*_{gt_dir}_labelIds.png; directory missing")
    lut = label_id_to_train_id_lut()
    items = []
    for image in images:
        stem = image.name[: -len(IMAGE_SUFFIX)]
        label = (root / gt_dir / split / image.parent.name / f"{stem}_{gt_dir}_labelIds.png"
                 if labelled else None)
        if label is not None and not label.is_file():
            raise DatasetLayoutError(f"cityscapes: label {label} for image {image} is missing")
        items.append(SegItem(image=image, label=label, name=stem, lut=lut))
    return items


def build_cityscapes(root: str | Path, split: str, transform: SegTransform | None = None,
                     mode: str = "fine", variant: str | None = None) -> SegmentationDataset:
    """Cityscapes fine/coarse reader. See the module docstring for `variant`."""
    base = resolve_variant_root(Path(root), variant)
    items = find_cityscapes(base, split, mode)
    return SegmentationDataset(items, transform, description=f"cityscapes-{mode} {base} [{split}]")
