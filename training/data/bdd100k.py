"""BDD100K semantic segmentation (10K images) with day/night selection by the attributes JSON.

Official layout (https://doc.bdd100k.com/download.html), ROOT = the bdd100k folder or its parent:
    ROOT/images/10k/<split>/<name>.jpg                     split train/val/test
    ROOT/labels/sem_seg/masks/<split>/<name>.png           train ids 0..18, 255 ignore
    ROOT/labels/det_20/det_<split>.json                    [{"name": "<name>.jpg", "attributes":
                                                             {"timeofday": "daytime"|"night"|...}}]
The older release is accepted too: seg/images/<split>/<name>.jpg + seg/labels/<split>/<name>_train_id.png,
and labels/bdd100k_labels_images_<split>.json (same "attributes.timeofday" field) for the filter.
Only part of the 10K segmentation images appear in the 100K attribute files; with a time-of-day
filter the images the JSON does not describe are left out (their number is in the description).

Example:
    ds = build_dataset("bdd100k", "/data/bdd100k", "val", timeofday="night")
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from training.data.base import DatasetLayoutError, SegItem, SegmentationDataset, SegTransform

SPLITS = ("train", "val", "test")
TIMES_OF_DAY = ("daytime", "night", "dawn/dusk", "undefined")


def _bdd_root(root: Path) -> Path:
    for candidate in (root, root / "bdd100k"):
        if (candidate / "images").is_dir() or (candidate / "seg").is_dir():
            return candidate
    raise DatasetLayoutError(
        f"bdd100k: expected {root}/images/10k/<split>/*.jpg (or {root}/bdd100k/images/..., or the old "
        f"{root}/seg/images/<split>/*.jpg); none exists")


def attribute_json_candidates(base: Path, split: str) -> list[Path]:
    return [base / "labels" / "det_20" / f"det_{split}.json",
            base / "labels" / f"bdd100k_labels_images_{split}.json",
            base / "labels" / "100k" / f"bdd100k_labels_images_{split}.json"]


def read_timeofday(path: Path) -> dict[str, str]:
    """Image name -> attributes.timeofday from a BDD100K label JSON (list of frames)."""
    frames = json.loads(path.read_text())
    if isinstance(frames, dict) and "frames" in frames:  # Scalabel dataset form
        frames = frames["frames"]
    if not isinstance(frames, list):
        raise DatasetLayoutError(f"bdd100k: {path} is not a list of frames")
    return {Path(f["name"]).stem: (f.get("attributes") or {}).get("timeofday", "undefined")
            for f in frames}


def find_bdd100k(root: Path, split: str, timeofday: str | Sequence[str] | None = None,
                 attributes_json: str | Path | None = None) -> tuple[list[SegItem], int]:
    """Items of a split, and how many images the time-of-day filter dropped for lack of attributes."""
    if split not in SPLITS:
        raise ValueError(f"bdd100k splits are {SPLITS}, got {split!r}")
    base = _bdd_root(root)
    new_images, old_images = base / "images" / "10k" / split, base / "seg" / "images" / split
    if new_images.is_dir():
        image_dir, label_dir, label_suffix = new_images, base / "labels" / "sem_seg" / "masks" / split, ".png"
    elif old_images.is_dir():
        image_dir = old_images
        label_dir, label_suffix = base / "seg" / "labels" / split, "_train_id.png"
    else:
        raise DatasetLayoutError(f"bdd100k: expected images in {new_images}/*.jpg (or {old_images}); "
                                 "directory missing")
    images = sorted(image_dir.glob("*.jpg"))
    if not images:
        raise DatasetLayoutError(f"bdd100k: no .jpg images in {image_dir}")
    labelled = split != "test"
    if labelled and not label_dir.is_dir():
        raise DatasetLayoutError(f"bdd100k: expected masks in {label_dir}/*{label_suffix}; directory missing")

    dropped = 0
    if timeofday is not None:
        wanted = {timeofday} if isinstance(timeofday, str) else set(timeofday)
        unknown = wanted - set(TIMES_OF_DAY)
        if unknown:
            raise ValueError(f"bdd100k timeofday values are {TIMES_OF_DAY}, got {sorted(unknown)}")
        candidates = [Path(attributes_json)] if attributes_json else attribute_json_candidates(base, split)
        json_path = next((p for p in candidates if p.is_file()), None)
        if json_path is None:
            raise DatasetLayoutError(
                "bdd100k: a timeofday filter needs the attributes JSON; expected one of "
                + ", ".join(str(p) for p in candidates))
        times = read_timeofday(json_path)
        described = [p for p in images if p.stem in times]
        dropped = len(images) - len(described)
        images = [p for p in described if times[p.stem] in wanted]
        if not images:
            raise DatasetLayoutError(f"bdd100k: no {split} image has timeofday in {sorted(wanted)} "
                                     f"according to {json_path}")
    items = []
    for image in images:
        label = label_dir / f"{image.stem}{label_suffix}" if labelled else None
        if label is not None and not label.is_file():
            raise DatasetLayoutError(f"bdd100k: mask {label} for image {image} is missing")
        items.append(SegItem(image=image, label=label, name=image.stem))
    return items, dropped


def build_bdd100k(root: str | Path, split: str, transform: SegTransform | None = None,
                  timeofday: str | Sequence[str] | None = None,
                  attributes_json: str | Path | None = None) -> SegmentationDataset:
    """BDD100K reader; `timeofday` e.g. "daytime", "night" or ["night", "dawn/dusk"]."""
    items, dropped = find_bdd100k(Path(root), split, timeofday, attributes_json)
    note = f", {dropped} images without attributes left out" if dropped else ""
    return SegmentationDataset(items, transform,
                               description=f"bdd100k {root} [{split}, {timeofday or 'all'}{note}]")
