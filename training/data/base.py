"""The two dataset kinds every reader builds on: labelled segmentation images and rain/clean pairs.

A reader only finds files: it returns a list of `SegItem` or `PairItem` (paths, name, how to
decode the label). Decoding, size checks, the joint transform and the conversion to the shared
sample contract (training/data/__init__.py) live here, once.

Example:
    ds = build_dataset("cityscapes", "/data/cityscapes", "val")
    sample = ds[0]   # {"image": (3, H, W) float32 [0, 1], "mask": (H, W) int64, "name": str}
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from rain_seg_ros.labels import IGNORE_INDEX

# (image uint8 (H, W, 3), mask uint8 (H, W)) -> same, jointly transformed.
SegTransform = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
# (rainy uint8 (H, W, 3), clean uint8 (H, W, 3)) -> same, jointly transformed.
PairTransform = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


class DatasetLayoutError(FileNotFoundError):
    """The files on disk do not follow the layout a reader expects (the message says which)."""


class DatasetContentError(ValueError):
    """A file exists but is unusable: wrong size, unreadable, mismatched pair."""


def read_rgb(path: Path) -> np.ndarray:
    """Read an image file as uint8 (H, W, 3) RGB."""
    try:
        with Image.open(path) as img:
            return np.asarray(img.convert("RGB"), dtype=np.uint8)
    except (OSError, ValueError) as exc:
        raise DatasetContentError(f"cannot read image {path}: {exc}") from exc


def read_label(path: Path) -> np.ndarray:
    """Read a single-channel label PNG as uint8 (H, W); refuses colour (RGB) label files."""
    try:
        with Image.open(path) as img:
            if img.mode not in ("L", "P", "I", "I;16"):
                raise DatasetContentError(
                    f"label file {path} has mode {img.mode}; expected a single-channel id image "
                    "(labelIds / labelTrainIds), not a colour rendering")
            array = np.asarray(img)
    except OSError as exc:
        raise DatasetContentError(f"cannot read label {path}: {exc}") from exc
    if array.max(initial=0) > 255:
        raise DatasetContentError(f"label file {path} holds ids above 255")
    return array.astype(np.uint8)


def image_size(path: Path) -> tuple[int, int]:
    """(H, W) of an image file, read from its header only."""
    with Image.open(path) as img:
        width, height = img.size
    return height, width


def list_images(folder: Path, recursive: bool = False) -> list[Path]:
    """Sorted image files of a folder."""
    pattern = "**/*" if recursive else "*"
    return sorted(p for p in folder.glob(pattern) if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def images_in_groups(dataset: str, image_root: Path, group: str, suffix: str) -> list[Path]:
    """Sorted `image_root/<group>/*suffix` files; a clear DatasetLayoutError if there are none.

    Args:
        dataset: reader name for the message.
        group: what the sub-folder level is called in that dataset ("city", "seq").
    """
    if not image_root.is_dir():
        raise DatasetLayoutError(
            f"{dataset}: expected images under {image_root}/<{group}>/*{suffix}; directory missing")
    images = sorted(image_root.glob(f"*/*{suffix}"))
    if not images:
        raise DatasetLayoutError(f"{dataset}: no {image_root}/<{group}>/*{suffix} files")
    return images


def require_dir(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise DatasetLayoutError(f"{what}: expected directory {path} does not exist")
    return path


def to_tensor_image(image: np.ndarray) -> torch.Tensor:
    """uint8 (H, W, 3) -> float32 (3, H, W) in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).float().div_(255.0)


@dataclass(frozen=True)
class SegItem:
    """One labelled image on disk.

    Args:
        image: RGB image file.
        label: label file, or None for an unlabelled split (the mask is then all ignore).
        name: sample name (file stem without the dataset's suffix).
        lut: 256-entry uint8 table applied to the raw label values (labelIds -> trainIds), or None
            when the file already holds train ids.
        ref: optional second image of the same place (ACDC `_ref`, Dark Zurich day twin).
    """

    image: Path
    label: Path | None
    name: str
    lut: np.ndarray | None = field(default=None, compare=False, repr=False)
    ref: Path | None = None


class SegmentationDataset(Dataset):
    """Labelled images -> {"image", "mask", "name"} (+ "ref" when asked and available).

    Args:
        items: what a reader found.
        transform: joint (image, mask) transform on uint8 arrays (training/data/transforms.py).
        return_ref: also load `item.ref` as "ref"; the joint transform's geometry is not applied
            to it (a reference frame is only roughly aligned to begin with).
        description: shown in errors and by dataset-info.
    """

    def __init__(self, items: Sequence[SegItem], transform: SegTransform | None = None,
                 return_ref: bool = False, description: str = "") -> None:
        self.items = list(items)
        self.transform = transform
        self.return_ref = return_ref
        self.description = description
        if return_ref:
            missing = [it.name for it in self.items if it.ref is None]
            if missing:
                raise DatasetLayoutError(
                    f"{description}: return_ref=True but {len(missing)} samples have no reference "
                    f"image (first: {missing[0]})")

    def __len__(self) -> int:
        return len(self.items)

    def load_mask(self, index: int, shape: tuple[int, int] | None = None) -> np.ndarray:
        """Train-id mask uint8 (H, W) of sample `index` (255 = ignore), before any transform."""
        item = self.items[index]
        if item.label is None:
            if shape is None:
                shape = image_size(item.image)
            return np.full(shape, IGNORE_INDEX, dtype=np.uint8)
        if not item.label.is_file():
            raise DatasetLayoutError(f"{self.description}: label file {item.label} for image "
                                     f"{item.image} is missing")
        raw = read_label(item.label)
        return raw if item.lut is None else item.lut[raw]

    def __getitem__(self, index: int) -> dict[str, Any]:
        item = self.items[index]
        image = read_rgb(item.image)
        mask = self.load_mask(index, image.shape[:2])
        if mask.shape != image.shape[:2]:
            raise DatasetContentError(
                f"{self.description}: image {item.image} is {image.shape[1]}x{image.shape[0]} but "
                f"label {item.label} is {mask.shape[1]}x{mask.shape[0]} (W x H)")
        if self.transform is not None:
            image, mask = self.transform(image, mask)
        sample: dict[str, Any] = {
            "image": to_tensor_image(image),                               # (3, H, W)
            "mask": torch.from_numpy(np.ascontiguousarray(mask)).long(),  # (H, W)
            "name": item.name,
        }
        if self.return_ref and item.ref is not None:
            sample["ref"] = to_tensor_image(read_rgb(item.ref))
        return sample


@dataclass(frozen=True)
class PairItem:
    """One rain/clean pair on disk.

    `rainy_half` / `clean_half` ("left" | "right") select one half of a side-by-side file that
    holds both images (DID-MDN, ID-CGAN); None means the whole file.
    """

    rainy: Path
    clean: Path
    name: str
    rainy_half: str | None = None
    clean_half: str | None = None


def _half(image: np.ndarray, side: str, path: Path) -> np.ndarray:
    width = image.shape[1]
    if width % 2:
        raise DatasetContentError(f"side-by-side pair file {path} has odd width {width}")
    return image[:, : width // 2] if side == "left" else image[:, width // 2:]


class PairDataset(Dataset):
    """Rain/clean pairs -> {"rainy", "clean", "name"}.

    Args:
        items: what a reader found.
        crop_size: (H, W) crop taken at the same place in both images, or None for full images.
        random_crop: random crop position (training) instead of the centre (evaluation).
        transform: optional joint (rainy, clean) transform applied after the crop.
    """

    def __init__(self, items: Sequence[PairItem], crop_size: tuple[int, int] | int | None = None,
                 random_crop: bool = True, transform: PairTransform | None = None,
                 description: str = "") -> None:
        self.items = list(items)
        if isinstance(crop_size, int):
            crop_size = (crop_size, crop_size)
        self.crop_size = crop_size
        self.random_crop = random_crop
        self.transform = transform
        self.description = description

    def __len__(self) -> int:
        return len(self.items)

    def load_pair(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """(rainy, clean) uint8 (H, W, 3) of sample `index`, uncropped."""
        item = self.items[index]
        rainy = read_rgb(item.rainy)
        clean = rainy if item.clean == item.rainy else read_rgb(item.clean)
        if item.rainy_half is not None:
            rainy = _half(rainy, item.rainy_half, item.rainy)
        if item.clean_half is not None:
            clean = _half(clean, item.clean_half, item.clean)
        if rainy.shape != clean.shape:
            raise DatasetContentError(
                f"{self.description}: rainy {item.rainy} is {rainy.shape[1]}x{rainy.shape[0]} but "
                f"clean {item.clean} is {clean.shape[1]}x{clean.shape[0]} (W x H)")
        return rainy, clean

    def pair_size(self, index: int) -> tuple[int, int]:
        """(H, W) of sample `index` from file headers (halved width for side-by-side files)."""
        item = self.items[index]
        height, width = image_size(item.rainy)
        return (height, width // 2) if item.rainy_half is not None else (height, width)

    def __getitem__(self, index: int) -> dict[str, Any]:
        from training.data.transforms import paired_crop

        rainy, clean = self.load_pair(index)
        if self.crop_size is not None:
            rainy, clean = paired_crop(rainy, clean, self.crop_size, random=self.random_crop)
        if self.transform is not None:
            rainy, clean = self.transform(rainy, clean)
        return {"rainy": to_tensor_image(rainy), "clean": to_tensor_image(clean),
                "name": self.items[index].name}
