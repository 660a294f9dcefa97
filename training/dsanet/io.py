"""Image files <-> float tensors in [0, 1] (RGB), with atomic writes."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
# 50 MP: an 8K frame fits; its float32 tensor is 600 MB. Larger is refused before decoding.
MAX_PIXELS = 50_000_000


def list_images(root: str | Path) -> list[Path]:
    """Image files under root, recursively, sorted (stable order = reproducible choices)."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"not a directory: {root}")
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def read_image(path: str | Path) -> torch.Tensor:
    """(3, H, W) float32 in [0, 1], RGB.

    The format is taken from the content, never the extension. The size is checked from
    the header before anything is decoded, so a small file declaring a huge image (a
    decompression bomb) is refused without allocating it.

    Raises:
        ValueError: one line naming the file: not an image, damaged, or too large.
    """
    try:
        with Image.open(path) as im:
            if im.width * im.height > MAX_PIXELS:
                raise ValueError(f"{path}: {im.width}x{im.height} is larger than the "
                                 f"{MAX_PIXELS // 1_000_000} megapixels an image may have here")
            arr = np.asarray(im.convert("RGB"), dtype=np.uint8)
    except (OSError, Image.DecompressionBombError, SyntaxError) as exc:   # PIL's damaged-file errors
        raise ValueError(f"{path}: not a readable image ({exc})") from exc
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).float() / 255.0


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """(3, H, W) in [0, 1] -> (H, W, 3) uint8 (rounded)."""
    return (image.detach().float().clamp(0, 1) * 255.0 + 0.5).to(torch.uint8).permute(1, 2, 0).cpu().numpy()


def write_image(path: str | Path, image: torch.Tensor) -> None:
    """Write (3, H, W) in [0, 1] atomically: a killed run never leaves a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}{path.suffix}")
    Image.fromarray(to_uint8(image)).save(tmp)
    os.replace(tmp, path)
