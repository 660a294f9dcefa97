"""ACDC: Adverse Conditions Dataset with Correspondences (fog, night, rain, snow).

Official layout (rgb_anon_trainvaltest.zip + gt_trainval.zip, https://acdc.vision.ee.ethz.ch):
    ROOT/rgb_anon/<condition>/<split>/<seq>/<seq>_frame_<n>_rgb_anon.png
    ROOT/rgb_anon/<condition>/<split>_ref/<seq>/<seq>_frame_<n>_rgb_ref_anon.png   normal-condition twin
    ROOT/gt/<condition>/<split>/<seq>/<seq>_frame_<n>_gt_labelTrainIds.png         (also _gt_labelIds.png)
conditions fog/night/rain/snow, splits train/val/test (test has no gt). Train ids are read from
_gt_labelTrainIds.png; when only _gt_labelIds.png is present it is mapped with cityscapesscripts.

Example:
    ds = build_dataset("acdc", "/data/acdc", "val", condition="rain", return_ref=True)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from training.data.base import (
    DatasetLayoutError,
    SegItem,
    SegmentationDataset,
    SegTransform,
    images_in_groups,
)
from training.data.cityscapes import label_id_to_train_id_lut

CONDITIONS = ("fog", "night", "rain", "snow")
SPLITS = ("train", "val", "test")
IMAGE_SUFFIX = "_rgb_anon.png"


def _conditions(condition: str | Sequence[str] | None) -> list[str]:
    if condition is None or condition == "all":
        return list(CONDITIONS)
    chosen = [condition] if isinstance(condition, str) else list(condition)
    unknown = [c for c in chosen if c not in CONDITIONS]
    if unknown:
        raise ValueError(f"acdc conditions are {CONDITIONS}, got {unknown}")
    return chosen


def find_acdc(root: Path, split: str, condition: str | Sequence[str] | None = None) -> list[SegItem]:
    if split not in SPLITS:
        raise ValueError(f"acdc splits are {SPLITS}, got {split!r}")
    lut = label_id_to_train_id_lut()
    items: list[SegItem] = []
    for cond in _conditions(condition):
        image_root = root / "rgb_anon" / cond / split
        images = images_in_groups("acdc", image_root, "seq", IMAGE_SUFFIX)
        gt_root = root / "gt" / cond / split
        if split != "test" and not gt_root.is_dir():
            raise DatasetLayoutError(
                f"acdc: expected labels under {gt_root}/<seq>/*_gt_labelTrainIds.png; directory missing")
        for image in images:
            seq, stem = image.parent.name, image.name[: -len(IMAGE_SUFFIX)]
            ref = root / "rgb_anon" / cond / f"{split}_ref" / seq / f"{stem}_rgb_ref_anon.png"
            label, item_lut = None, None
            if split != "test":
                train_ids = gt_root / seq / f"{stem}_gt_labelTrainIds.png"
                label_ids = gt_root / seq / f"{stem}_gt_labelIds.png"
                if train_ids.is_file():
                    label = train_ids
                elif label_ids.is_file():
                    label, item_lut = label_ids, lut
                else:
                    raise DatasetLayoutError(
                        f"acdc: label {train_ids} (or {label_ids.name}) for image {image} is missing")
            items.append(SegItem(image=image, label=label, name=f"{cond}/{stem}", lut=item_lut,
                                 ref=ref if ref.is_file() else None))
    return items


def build_acdc(root: str | Path, split: str, transform: SegTransform | None = None,
               condition: str | Sequence[str] | None = None, return_ref: bool = False
               ) -> SegmentationDataset:
    """ACDC reader; `condition` one of fog/night/rain/snow, a list, or None/"all".

    `return_ref=True` adds the normal-condition `_ref` image as sample["ref"] (3, H, W).
    """
    items = find_acdc(Path(root), split, condition)
    return SegmentationDataset(items, transform, return_ref=return_ref,
                               description=f"acdc {root} [{split}, {condition or 'all'}]")
