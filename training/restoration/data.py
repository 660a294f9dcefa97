"""Image + fine mask (+ incomplete mask) samples for SPADE and the mask restorer.

Reads the Cityscapes layout (real Cityscapes, or generate-scenes output, whose gtFine holds
labelIds): ROOT/leftImg8bit/<split>/<city>/*_leftImg8bit.png with
ROOT/gtFine/<split>/<city>/*_gtFine_labelIds.png. Masks stay labelIds or become train ids
by `labels`; ids outside that set, and masks whose size differs from their image, are one
clear error naming the file. Images are resized to `size` (bilinear; masks nearest).

Items are keyed (index, sample_seed) as training.dsanet.data.StepBatchSampler yields them, so
the flip and the incomplete mask of every step are a pure function of the seed: a resumed run
sees the batches the uninterrupted run would have seen.

Example:
    ds = MaskImageDataset("/tmp/scenes", "train", labels="label_ids", size=(64, 128),
                          incomplete=IncompleteConfig(task="sr8"))
    sample = ds[(0, 123)]   # {"image", "mask", "incomplete", "name"}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from training.data.base import DatasetContentError, SegItem, read_label, read_rgb, to_tensor_image
from training.data.cityscapes import find_cityscapes, resolve_variant_root
from training.restoration.incomplete import IncompleteConfig, make_incomplete
from training.restoration.labels import Scheme, check_ids, ignore_index

MAX_PIXELS = 64_000_000   # a decoded label/image larger than this is refused (bounded memory)


def find_items(root: str | Path, split: str, mode: str = "fine") -> list[SegItem]:
    """Cityscapes-layout items (image, labelIds file, name) of `root` (a generate-scenes OUT too)."""
    return find_cityscapes(resolve_variant_root(Path(root), None), split, mode)


def read_mask(item: SegItem, scheme: Scheme, *, coarse: bool = False) -> np.ndarray:
    """The item's label file as uint8 (H, W) ids of `scheme`, checked against its id set."""
    if item.label is None:
        raise DatasetContentError(f"{item.image}: no label file")
    _check_size(item.label)
    raw = read_label(item.label)
    if scheme == "train_ids" and item.lut is not None:
        raw = item.lut[raw]
    return check_ids(raw, scheme, item.label, coarse=coarse)


def _check_size(path: Path) -> None:
    """Refuse an image or label above MAX_PIXELS from its header, before decoding it."""
    try:
        with Image.open(path) as img:
            width, height = img.size
    except (OSError, Image.DecompressionBombError) as exc:
        raise DatasetContentError(f"{path}: not a readable image ({exc})") from exc
    if width * height > MAX_PIXELS:
        raise DatasetContentError(f"{path}: {width}x{height} is larger than {MAX_PIXELS} pixels; "
                                  "refusing to decode it")


def load_pair(item: SegItem, scheme: Scheme, size: tuple[int, int] | None) -> tuple[np.ndarray, np.ndarray]:
    """(image uint8 (H, W, 3), fine mask uint8 (H, W)) at `size`; a size mismatch is an error."""
    _check_size(item.image)
    image = read_rgb(item.image)
    mask = read_mask(item, scheme)
    if mask.shape != image.shape[:2]:
        raise DatasetContentError(f"{item.label}: {mask.shape[1]}x{mask.shape[0]} mask for a "
                                  f"{image.shape[1]}x{image.shape[0]} image ({item.image.name}); "
                                  "masks must have their image's size")
    if size is not None and image.shape[:2] != tuple(size):
        image = resize(image, size, Image.Resampling.BILINEAR)
        mask = resize(mask, size, Image.Resampling.NEAREST)
    return image, mask


def resize(array: np.ndarray, size: tuple[int, int], resample: Any) -> np.ndarray:
    """PIL resize of a uint8 (H, W[, 3]) array to (H, W) = size."""
    return np.asarray(Image.fromarray(array).resize((size[1], size[0]), resample))


class MaskImageDataset(Dataset):
    """{"image": (3, H, W) [0, 1], "mask": (H, W) int64, "incomplete": (H, W) int64 (255 =
    unknown; only with `incomplete`), "name"} for keys (index, sample_seed) or plain indices.

    Args:
        labels: "label_ids" or "train_ids" (training.restoration.labels).
        size: (H, W) every sample is resized to; None keeps the files' size.
        incomplete: how incomplete masks are made; None leaves them out.
        flip: random horizontal flip (from the sample seed).
    """

    def __init__(self, root: str | Path, split: str, *, labels: Scheme, size: tuple[int, int] | None,
                 incomplete: IncompleteConfig | None = None, flip: bool = False,
                 items: list[SegItem] | None = None) -> None:
        self.items = items if items is not None else find_items(root, split)
        self.labels, self.size, self.incomplete, self.flip = labels, size, incomplete, flip

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, Any]:
        index, seed = key if isinstance(key, tuple) else (key, key)
        item = self.items[index]
        image, mask = load_pair(item, self.labels, self.size)
        rng = np.random.default_rng(seed)
        if self.flip and rng.random() < 0.5:
            image, mask = image[:, ::-1], mask[:, ::-1]
        sample: dict[str, Any] = {"image": to_tensor_image(np.ascontiguousarray(image)),
                                  "mask": torch.from_numpy(np.ascontiguousarray(mask)).long(),
                                  "name": item.name}
        if self.incomplete is not None:
            inc = make_incomplete(np.ascontiguousarray(mask), self.incomplete, rng, ignore_index(self.labels))
            sample["incomplete"] = torch.from_numpy(inc).long()
        return sample
