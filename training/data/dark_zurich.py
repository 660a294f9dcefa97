"""Dark Zurich: day / twilight / night drives of the same routes, with night->day correspondences.

Official layout (Dark_Zurich_train_anon.zip, Dark_Zurich_val_anon.zip, Dark_Zurich_test_anon_withoutGt.zip,
https://www.trace.ethz.ch/publications/2019/GCMA_UIoU/), all extracted into one ROOT:
    ROOT/rgb_anon/train/<day|twilight|night>/<seq>/<seq>_frame_<n>_rgb_anon.png     unlabelled
    ROOT/corresp/train/<night|twilight>/.../*.csv    rows "train/night/<seq>/<stem>,train/day/<seq>/<stem>"
    ROOT/rgb_anon/val/night/<seq>/<stem>_rgb_anon.png           (also test/night)
    ROOT/rgb_anon/val_ref/day/<seq>_ref/<stem>_ref_rgb_anon.png  day reference of each val frame
    ROOT/gt/val/night/<seq>/<stem>_gt_labelTrainIds.png          (also _gt_labelIds.png)
    ROOT/lists_file_names/val_filenames.txt + val_ref_filenames.txt   aligned keys, one per line
A correspondence key is a path under rgb_anon/ without the "_rgb_anon.png" suffix (DANNet's
zurich_dn_pair_train.csv has the same rows; pass it as pair_list=...). Unlabelled splits yield
all-ignore masks (255), so their class counts are empty.

Example:
    ds = build_dataset("dark_zurich", "/data/dark_zurich", "train", time="night", return_ref=True)
"""

from __future__ import annotations

import csv
from pathlib import Path

from training.data.base import (
    DatasetLayoutError,
    SegItem,
    SegmentationDataset,
    SegTransform,
    images_in_groups,
)
from training.data.cityscapes import label_id_to_train_id_lut

SPLITS = ("train", "val", "test")
TIMES = ("day", "twilight", "night")
IMAGE_SUFFIX = "_rgb_anon.png"


def key_to_path(root: Path, key: str) -> Path:
    """A list/correspondence key ("val/night/GOPR0356/GOPR0356_frame_000321") -> its image file."""
    key = key.strip().replace("\\", "/").lstrip("/")
    key = key.removeprefix("rgb_anon/").removesuffix(".png").removesuffix("_rgb_anon")
    return root / "rgb_anon" / f"{key}{IMAGE_SUFFIX}"


def read_pair_lists(root: Path, files: list[Path]) -> dict[Path, Path]:
    """Night/twilight image -> day image from correspondence CSVs (first two columns)."""
    pairs: dict[Path, Path] = {}
    for path in files:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            for row in csv.reader(handle):
                if not row or row[0].lstrip().startswith("#"):
                    continue
                if len(row) < 2:
                    raise DatasetLayoutError(f"dark_zurich: {path}: row {row} is not 'target,day'")
                pairs[key_to_path(root, row[0])] = key_to_path(root, row[1])
    return pairs


def read_aligned_lists(root: Path, split: str) -> dict[Path, Path]:
    """Image -> reference from lists_file_names/<split>_filenames.txt + <split>_ref_filenames.txt."""
    lists = root / "lists_file_names"
    images, refs = lists / f"{split}_filenames.txt", lists / f"{split}_ref_filenames.txt"
    if not (images.is_file() and refs.is_file()):
        return {}
    keys = [line for line in images.read_text().splitlines() if line.strip()]
    ref_keys = [line for line in refs.read_text().splitlines() if line.strip()]
    if len(keys) != len(ref_keys):
        raise DatasetLayoutError(f"dark_zurich: {images} has {len(keys)} lines but {refs} has "
                                 f"{len(ref_keys)}; they must be aligned")
    return {key_to_path(root, k): key_to_path(root, r) for k, r in zip(keys, ref_keys)}


def _ref_by_folder(root: Path, split: str, image: Path, stem: str) -> Path | None:
    """rgb_anon/<split>_ref/day/<seq>_ref/<stem>_ref_rgb_anon.png, or any <stem>_* file there."""
    folder = root / "rgb_anon" / f"{split}_ref" / "day" / f"{image.parent.name}_ref"
    exact = folder / f"{stem}_ref{IMAGE_SUFFIX}"
    if exact.is_file():
        return exact
    matches = sorted(folder.glob(f"{stem}_*.png")) if folder.is_dir() else []
    return matches[0] if matches else None


def find_dark_zurich(root: Path, split: str, time: str = "night",
                     pair_list: str | Path | None = None) -> list[SegItem]:
    if split not in SPLITS:
        raise ValueError(f"dark_zurich splits are {SPLITS}, got {split!r}")
    if time not in TIMES:
        raise ValueError(f"dark_zurich times are {TIMES}, got {time!r}")
    image_root = root / "rgb_anon" / split / time
    images = images_in_groups("dark_zurich", image_root, "seq", IMAGE_SUFFIX)

    if pair_list is not None:
        if not Path(pair_list).is_file():
            raise DatasetLayoutError(f"dark_zurich: pair list {pair_list} does not exist")
        refs = read_pair_lists(root, [Path(pair_list)])
    elif split == "train":
        refs = read_pair_lists(root, sorted((root / "corresp" / split).glob("**/*.csv")))
    else:
        refs = read_aligned_lists(root, split)

    gt_root = root / "gt" / split / time
    labelled = gt_root.is_dir()
    lut = label_id_to_train_id_lut()
    items = []
    for image in images:
        stem = image.name[: -len(IMAGE_SUFFIX)]
        ref = refs.get(image) or (None if split == "train" else _ref_by_folder(root, split, image, stem))
        if ref is not None and not ref.is_file():
            raise DatasetLayoutError(f"dark_zurich: reference {ref} of {image} is missing")
        label, item_lut = None, None
        if labelled:
            train_ids = gt_root / image.parent.name / f"{stem}_gt_labelTrainIds.png"
            label_ids = gt_root / image.parent.name / f"{stem}_gt_labelIds.png"
            if train_ids.is_file():
                label = train_ids
            elif label_ids.is_file():
                label, item_lut = label_ids, lut
            else:
                raise DatasetLayoutError(
                    f"dark_zurich: label {train_ids} (or {label_ids.name}) for image {image} is missing")
        items.append(SegItem(image=image, label=label, name=f"{time}/{stem}", lut=item_lut, ref=ref))
    return items


def build_dark_zurich(root: str | Path, split: str, transform: SegTransform | None = None, *,
                      time: str = "night", return_ref: bool = False,
                      pair_list: str | Path | None = None) -> SegmentationDataset:
    """Dark Zurich reader; `return_ref=True` adds the corresponding day image as sample["ref"]."""
    items = find_dark_zurich(Path(root), split, time, pair_list)
    return SegmentationDataset(items, transform, return_ref=return_ref,
                               description=f"dark_zurich {root} [{split}, {time}]")
