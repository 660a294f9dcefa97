"""Writers of tiny dataset trees in each dataset's official layout, for the reader tests.

Images are random uint8 RGB, labels random ids; every writer returns what it wrote so tests can
compare the readers' output with the files' content computed independently (numpy, cityscapesscripts).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

H, W = 12, 20
# Cityscapes labelIds that occur in real label files: 0..33 (void ids included).
LABEL_IDS = np.arange(34, dtype=np.uint8)


def write_rgb(path: Path, rng: np.random.Generator, shape: tuple[int, int] = (H, W)) -> np.ndarray:
    path.parent.mkdir(parents=True, exist_ok=True)
    array = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    if path.suffix == ".jpg":
        # JPEG is lossy: store a flat image so the decoded values are still known exactly enough.
        array[:] = rng.integers(0, 256, 3, dtype=np.uint8)
        Image.fromarray(array).save(path, quality=100)
        return np.asarray(Image.open(path).convert("RGB"))
    Image.fromarray(array).save(path)
    return array


def write_ids(path: Path, rng: np.random.Generator, values: np.ndarray,
              shape: tuple[int, int] = (H, W)) -> np.ndarray:
    path.parent.mkdir(parents=True, exist_ok=True)
    array = rng.choice(values, size=shape).astype(np.uint8)
    Image.fromarray(array, mode="L").save(path)
    return array


def write_cityscapes(root: Path, split: str, cities: dict[str, int], rng: np.random.Generator,
                     gt: str = "gtFine") -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """leftImg8bit/<split>/<city>/<stem>_leftImg8bit.png + <gt>/<split>/<city>/<stem>_<gt>_labelIds.png."""
    written = {}
    for city, count in cities.items():
        for k in range(count):
            stem = f"{city}_{k:06d}_000019"
            image = write_rgb(root / "leftImg8bit" / split / city / f"{stem}_leftImg8bit.png", rng)
            ids = write_ids(root / gt / split / city / f"{stem}_{gt}_labelIds.png", rng, LABEL_IDS)
            written[stem] = (image, ids)
    return written


def write_rain100_official(folder: Path, count: int, rng: np.random.Generator) -> dict[int, tuple]:
    """JORDER release: rain/X2/norain-<k>x2.png + norain/norain-<k>.png."""
    written = {}
    for k in range(1, count + 1):
        rainy = write_rgb(folder / "rain" / "X2" / f"norain-{k}x2.png", rng)
        clean = write_rgb(folder / "norain" / f"norain-{k}.png", rng)
        written[k] = (rainy, clean)
    return written


def write_rain100_plain(folder: Path, count: int, rng: np.random.Generator,
                        rainy_dir: str = "rain") -> dict[int, tuple]:
    """generate-scenes / common form: rain/rain-<k>.png + norain/norain-<k>.png."""
    written = {}
    for k in range(1, count + 1):
        rainy = write_rgb(folder / rainy_dir / f"rain-{k}.png", rng)
        clean = write_rgb(folder / "norain" / f"norain-{k}.png", rng)
        written[k] = (rainy, clean)
    return written


def write_side_by_side(path: Path, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One 2W x H file; returns (left half, right half) as written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    array = rng.integers(0, 256, (H, 2 * W, 3), dtype=np.uint8)
    Image.fromarray(array).save(path, quality=100)
    array = np.asarray(Image.open(path).convert("RGB"))  # what a JPEG decoder gives back
    return array[:, :W], array[:, W:]


def write_rain100_prenet(folder: Path, count: int, rng: np.random.Generator,
                         digits: int = 1) -> dict[int, tuple]:
    """PReNet's datasets/<train|test>/<RainTrainH|Rain100H>/: rain-<k>.png next to norain-<k>.png
    (its test copies number 001..100)."""
    written = {}
    for k in range(1, count + 1):
        rainy = write_rgb(folder / f"rain-{k:0{digits}d}.png", rng)
        clean = write_rgb(folder / f"norain-{k:0{digits}d}.png", rng)
        written[k] = (rainy, clean)
    return written


def write_input_target(folder: Path, names: list[str], rng: np.random.Generator) -> dict[str, tuple]:
    """MPRNet / Restormer: <dir>/input/<name> + <dir>/target/<name>, the same file name on both sides."""
    written = {}
    for name in names:
        written[name] = (write_rgb(folder / "input" / name, rng), write_rgb(folder / "target" / name, rng))
    return written
