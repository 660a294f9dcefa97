"""KITTI semantic segmentation benchmark (200 labelled training frames, Cityscapes labelIds).

Official layout (data_semantics.zip, http://www.cvlibs.net/datasets/kitti/eval_semseg.php):
    ROOT/data_semantics/training/image_2/000000_10.png
    ROOT/data_semantics/training/semantic/000000_10.png     labelIds, Cityscapes definition
    ROOT/data_semantics/testing/image_2/000000_10.png       no labels
ROOT may also be the data_semantics folder itself. KITTI has no official validation split; like the
thesis, "train" is the first 90 % of the sorted training names and "val" the last 10 %
(180 / 20 frames on the real set). "trainval" is all of it, "test" the unlabelled test frames.

Example:
    ds = build_dataset("kitti", "/data/kitti", "val")
"""

from __future__ import annotations

from pathlib import Path

from training.data.base import (
    DatasetLayoutError,
    SegItem,
    SegmentationDataset,
    SegTransform,
    list_images,
)
from training.data.cityscapes import label_id_to_train_id_lut

SPLITS = ("train", "val", "trainval", "test")
VAL_FRACTION = 0.1


def _semantics_root(root: Path) -> Path:
    for candidate in (root / "data_semantics", root):
        if (candidate / "training").is_dir() or (candidate / "testing").is_dir():
            return candidate
    raise DatasetLayoutError(
        f"kitti: expected {root}/data_semantics/training/image_2/*.png (or {root}/training/image_2); "
        "neither exists")


def split_names(names: list[str], split: str) -> list[str]:
    """Deterministic 9:1 split of sorted names: train = first 90 %, val = last 10 %."""
    names = sorted(names)
    num_val = max(1, round(len(names) * VAL_FRACTION)) if len(names) > 1 else 0
    if split == "train":
        return names[: len(names) - num_val]
    if split == "val":
        return names[len(names) - num_val:]
    return names


def find_kitti(root: Path, split: str) -> list[SegItem]:
    if split not in SPLITS:
        raise ValueError(f"kitti splits are {SPLITS}, got {split!r}")
    base = _semantics_root(root)
    folder = base / ("testing" if split == "test" else "training")
    image_dir = folder / "image_2"
    if not image_dir.is_dir():
        raise DatasetLayoutError(f"kitti: expected images in {image_dir}/*.png; directory missing")
    images = {p.stem: p for p in list_images(image_dir)}
    if not images:
        raise DatasetLayoutError(f"kitti: no images in {image_dir}")
    label_dir = folder / "semantic"
    if split != "test" and not label_dir.is_dir():
        raise DatasetLayoutError(f"kitti: expected labelIds in {label_dir}/*.png; directory missing")
    lut = label_id_to_train_id_lut()
    items = []
    for stem in split_names(list(images), split):
        label = None if split == "test" else label_dir / f"{stem}.png"
        if label is not None and not label.is_file():
            raise DatasetLayoutError(f"kitti: label {label} for image {images[stem]} is missing")
        items.append(SegItem(image=images[stem], label=label, name=stem, lut=lut))
    return items


def build_kitti(root: str | Path, split: str, transform: SegTransform | None = None) -> SegmentationDataset:
    items = find_kitti(Path(root), split)
    return SegmentationDataset(items, transform, description=f"kitti {root} [{split}]")
