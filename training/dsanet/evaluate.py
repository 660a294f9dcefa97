"""Deraining quality of a DSANet on a rain-pair dataset: PSNR / SSIM on RGB and on Y.

Images are scored as they would be saved: outputs quantised to uint8 first, metrics from
training.metrics on the 0..255 scale. The rainy inputs are scored the same way, so every
result carries its "do nothing" baseline.

Example:
    net = DSANet.from_checkpoint("runs/dsanet_synth")
    pairs = build_dataset("rain100h", "/tmp/scenes", "test")
    print(evaluate_derain(net, pairs))
"""

from __future__ import annotations

from typing import Any

import numpy as np
from tqdm import tqdm

from training.dsanet.api import DSANet
from training.dsanet.io import to_uint8
from training.metrics import psnr, ssim


def image_scores(pred: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """PSNR (dB) and SSIM of two uint8 (H, W, 3) RGB images, on RGB and on Y."""
    return {"psnr_rgb": psnr(pred, target, data_range=255.0),
            "ssim_rgb": ssim(pred, target, data_range=255.0),
            "psnr_y": psnr(pred, target, data_range=255.0, y_channel=True),
            "ssim_y": ssim(pred, target, data_range=255.0, y_channel=True)}


def mean_scores(rows: list[dict[str, float]]) -> dict[str, float]:
    return {k: round(float(np.mean([r[k] for r in rows])), 4) for k in rows[0]}


def evaluate_derain(net: DSANet, pairs: Any, limit: int | None = None,
                    progress: bool = True) -> dict[str, Any]:
    """Mean scores of derained outputs and of the rainy inputs against the clean images."""
    n = len(pairs) if limit is None else min(limit, len(pairs))
    if n == 0:
        raise ValueError("the dataset has no pairs")
    derained, inputs = [], []
    for i in tqdm(range(n), desc="evaluate-derain", unit="pair", disable=not progress):
        sample = pairs[i]
        clean = to_uint8(sample["clean"])
        inputs.append(image_scores(to_uint8(sample["rainy"]), clean))
        derained.append(image_scores(to_uint8(net.derain(sample["rainy"][None])[0]), clean))
    return {"num_pairs": n, "derained": mean_scores(derained), "rainy_input": mean_scores(inputs)}
