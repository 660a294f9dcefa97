"""restore-masks: fine label PNGs, in the Cityscapes layout, from coarse or low-resolution ones.

Input: ROOT/<labels_dir>/<split>/<city>/<stem>_<labels_dir>_labelIds.png (gtCoarse by
default; gaps are id 0 there) next to ROOT/leftImg8bit/<split>/<city>/<stem>_leftImg8bit.png.
A label file at 1/factor of its image's size (x8 task) is blown up by repetition first; a
label file of any other size than its image's is an error naming both files.
Output: OUT/gtFine/<split>/<city>/<stem>_gtFine_labelIds.png and _labelTrainIds.png, OUT/
leftImg8bit linked to the source images, so OUT is a dataset `train-segmenter` reads as
{dataset: cityscapes, root: OUT}; OUT/manifest.jsonl has one record per restored file.

Each file is written atomically (temporary name, then rename) and recorded after it is
written, so a killed run restarted with the same arguments skips what is done.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from rain_seg_ros.labels import TRAIN_ID_TO_LABEL_ID
from training.data.base import DatasetContentError, DatasetLayoutError, SegItem, images_in_groups
from training.data.cityscapes import (
    IMAGE_SUFFIX,
    find_cityscapes,
    label_id_to_train_id_lut,
    resolve_variant_root,
)
from training.engine.checkpoint import file_sha256
from training.restoration.data import read_mask, resize
from training.restoration.evaluate import restore
from training.restoration.frozen import load_restorer
from training.restoration.labels import UNKNOWN, coarse_to_incomplete

MANIFEST = "manifest.jsonl"


def restore_masks(restorer: str | Path, root: str | Path, out: str | Path, *, split: str = "train",
                  labels_dir: str = "gtCoarse", device: str = "cpu", progress: bool = True) -> dict[str, Any]:
    """Restore every label file of `split`; returns {"restored", "skipped", "manifest"}."""
    mask_gen, meta = load_restorer(restorer, device)
    scheme, k, size = meta["labels"], int(meta["num_classes"]), tuple(meta["size"])
    factor = int(meta["incomplete"]["factor"]) if meta["restore_task"] == "sr8" else 1
    items = _items(Path(root), split, labels_dir)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    done = _done(out / MANIFEST)
    digest = file_sha256(_weights_file(restorer))
    to_train = label_id_to_train_id_lut()
    to_label = np.zeros(256, np.uint8)
    to_label[: len(TRAIN_ID_TO_LABEL_ID)] = TRAIN_ID_TO_LABEL_ID   # ignore (255) -> 0 "unlabeled"
    restored = skipped = 0
    for item in tqdm(items, desc="restore-masks", disable=not progress, unit="mask"):
        rel = Path("gtFine") / split / item.image.parent.name / f"{item.name}_gtFine_labelIds.png"
        if str(rel) in done:
            skipped += 1
            continue
        raw = coarse_to_incomplete(read_mask(item, scheme, coarse=True), scheme)
        incomplete = _at_image_size(raw, item, factor)
        small = resize(incomplete, size, Image.Resampling.NEAREST)            # restorer's size
        pred = restore(mask_gen, torch.from_numpy(small.astype(np.int64))[None].to(device), k)
        fine = resize(pred[0].to(torch.uint8).cpu().numpy(), incomplete.shape, Image.Resampling.NEAREST)
        label_ids = fine if scheme == "label_ids" else to_label[fine]
        train_ids = to_train[label_ids] if scheme == "label_ids" else fine
        _write_png(out / rel, label_ids)
        _write_png(out / str(rel).replace("_labelIds.png", "_labelTrainIds.png"), train_ids)
        _link_image(item.image, out / "leftImg8bit" / split / item.image.parent.name / item.image.name)
        record = {"name": item.name, "source": str(item.label), "out": str(rel), "restorer": digest,
                  "known_fraction": round(float((incomplete != UNKNOWN).mean()), 4)}
        with open(out / MANIFEST, "a") as f:
            f.write(json.dumps(record) + "\n")
        restored += 1
    return {"restored": restored, "skipped": skipped, "manifest": str(out / MANIFEST)}


def _items(root: Path, split: str, labels_dir: str) -> list[SegItem]:
    base = resolve_variant_root(root, None)
    if labels_dir == "gtCoarse":
        return find_cityscapes(base, split, "coarse")
    # Any other label folder (gtLowres, ...): the images of the split and a label each.
    lut = label_id_to_train_id_lut()
    items = []
    for image in images_in_groups("cityscapes", base / "leftImg8bit" / split, "city", IMAGE_SUFFIX):
        name = image.name[: -len(IMAGE_SUFFIX)]
        label = base / labels_dir / split / image.parent.name / f"{name}_{labels_dir}_labelIds.png"
        if not label.is_file():
            raise DatasetLayoutError(f"{label}: missing (every image of {base / 'leftImg8bit' / split} "
                                     f"needs its {labels_dir} label)")
        items.append(SegItem(image, label, name, lut))
    return items


def _at_image_size(mask: np.ndarray, item: SegItem, factor: int) -> np.ndarray:
    with Image.open(item.image) as img:
        w, h = img.size
    if mask.shape == (h, w):
        return mask
    if factor > 1 and mask.shape == (-(-h // factor), -(-w // factor)):
        return np.repeat(np.repeat(mask, factor, 0), factor, 1)[:h, :w]
    raise DatasetContentError(f"{item.label}: {mask.shape[1]}x{mask.shape[0]} mask for a {w}x{h} image "
                              f"({item.image.name}); give labels of the image's size"
                              + (f" or 1/{factor} of it" if factor > 1 else ""))


def _done(manifest: Path) -> set[str]:
    """Outputs recorded by an earlier run (a last line cut mid-write is ignored: redone)."""
    if not manifest.is_file():
        return set()
    done = set()
    for line in manifest.read_text().splitlines():
        try:
            done.add(json.loads(line)["out"])
        except (ValueError, KeyError, TypeError):
            continue
    return done


def _write_png(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    Image.fromarray(np.ascontiguousarray(array, dtype=np.uint8)).save(tmp, format="PNG")
    os.replace(tmp, path)


def _link_image(src: Path, dst: Path) -> None:
    if dst.exists() or dst.is_symlink():
        return
    dst.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(src.resolve(), dst)


def _weights_file(path: str | Path) -> Path:
    from training.engine.checkpoint import resolve_checkpoint

    return resolve_checkpoint(path)
