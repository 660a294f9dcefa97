"""Measure a folder of images: what the rain detector calls them, grid artefacts, and, with
their clean sources, the rain layer (rainy − clean) statistics of training/rain_realism/streaks.py.

Set-level numbers pool the images: grid step ratios divide the summed on-grid and off-grid
steps of all images; the rain-layer orientation comes from the summed structure tensors; the
high-frequency energy and the layer's mean |value| are means over pairs.

Example:
    net, meta = load_detector("runs/rain_detector")
    result = measure_folder(net, "/tmp/rainified/leftImg8bit/test",
                            clean_dir="/tmp/scenes/cityscapes/leftImg8bit/test")
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from training.dsanet.io import read_image
from training.metrics.files import IMAGE_EXTENSIONS, describe_unmatched, list_files, match_files
from training.rain_realism import streaks
from training.rain_realism.data import to_uint8
from training.rain_realism.detector import RainDetector, rain_probability

GRID = (2, 4, 8)


def _read(path: Path) -> tuple[torch.Tensor, np.ndarray]:
    """(3, H, W) float in [0, 1] for the detector and (H, W, 3) uint8 for the measurements."""
    image = read_image(path)   # format from content, size checked before decoding
    return image, to_uint8(image).permute(1, 2, 0).numpy()


def _pairs(images_dir: Path, clean_dir: Path | None) -> list[tuple[Path, Path | None]]:
    files = list_files(images_dir, IMAGE_EXTENSIONS)
    if not files:
        raise FileNotFoundError(f"--images {images_dir}: no images under it")
    if clean_dir is None:
        return [(f, None) for f in files]
    matching = match_files(files, list_files(clean_dir, IMAGE_EXTENSIONS))
    if matching.unmatched_pred:   # clean images without a rainy copy are fine (another split)
        raise ValueError(describe_unmatched(matching.unmatched_pred, "image") +
                         f" in --clean {clean_dir} (pairing by name: docs/metrics.md)")
    return [(a, b) for a, b in matching.pairs]


def measure_folder(net: RainDetector, images_dir: str | Path, clean_dir: str | Path | None = None,
                   threshold: float = 0.5, grid: tuple[int, ...] = GRID, cutoff: float = streaks.HF_CUTOFF,
                   per_image: bool = False) -> dict[str, Any]:
    """The JSON measure-rain prints (see the module docstring)."""
    pairs = _pairs(Path(images_dir), Path(clean_dir) if clean_dir is not None else None)
    probs: list[float] = []
    steps = {k: np.zeros(4) for k in grid}
    tensor = np.zeros(3)
    hf, share, mean_abs, rows = [], [], [], []
    for path, clean_path in pairs:
        image, pixels = _read(path)
        prob = float(rain_probability(net, image[None])[0])
        probs.append(prob)
        row: dict[str, Any] = {"image": str(path), "probability": prob}
        for k in grid:
            steps[k] += streaks.grid_steps(pixels, k)
        if clean_path is not None:
            _, clean = _read(clean_path)
            layer = streaks.rain_layer(pixels, clean)
            energy, frac = streaks.high_frequency_energy(layer, cutoff)
            hf.append(energy)
            share.append(frac)
            mean_abs.append(float(np.abs(layer).mean()))
            tensor += streaks.structure_tensor(layer)
            row |= {"clean": str(clean_path), "hf_energy": energy}
        rows.append(row)

    result: dict[str, Any] = {
        "images": len(pairs),
        "called_rainy": float(np.mean([p > threshold for p in probs])),
        "mean_probability": float(np.mean(probs)),
        "threshold": threshold,
        "grid_step_ratio": {str(k): streaks.step_ratio(s[0], int(s[1]), s[2], int(s[3]))
                            for k, s in steps.items()},
    }
    if hf:
        tilt, coherence = streaks.orientation(tensor)
        result["rain_layer"] = {"pairs": len(hf), "hf_energy": float(np.mean(hf)), "hf_cutoff": cutoff,
                                "hf_share": float(np.mean(share)), "mean_abs": float(np.mean(mean_abs)),
                                "tilt_deg": tilt, "coherence": coherence}
    if per_image:
        result["per_image"] = rows
    return result
