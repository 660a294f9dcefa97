"""Streak and artefact measurements of rain layers and images (numpy only).

A *rain layer* is the grey (BT.601 luma) difference rainy − clean, in [−1, 1] units.

- High-frequency energy: the mean square of the layer's part above `cutoff` cycles/pixel
  (the 2-D FFT of the layer, its mean removed, kept where the radial frequency exceeds the
  cut-off; by Parseval this is the variance of the high-passed layer). The layer is mirrored
  at its borders first (2H × 2W), so the FFT's wrap-around adds no edge that is not there.
  A uniform veil has none; a cosine of amplitude A above the cut-off has A²/2. The default
  cut-off, 1/8 cycle/pixel, keeps detail finer than 8-pixel periods: thin streaks, not haze.
- Dominant orientation: from the structure tensor J = mean over pixels of ∇L ∇Lᵀ (Scharr
  derivatives: central differences tilt thin lines up to 5° towards the axes, Scharr < 0.5°).
  The tilt is the dominant gradient angle, which for lines equals their angle from the
  vertical: 0° vertical, +45° for "/" (top leaning right), −45° for "\\".
  Coherence = (λ1 − λ2) / (λ1 + λ2) of J: 1 for parallel lines, 0 for no preferred direction.
- Grid step ratio (of an image, not a layer): the mean |luma step| across pixel boundaries
  that lie on a k-pixel grid (between pixel k·m − 1 and k·m, rows and columns together)
  divided by the mean step across all other boundaries. Block or checkerboard artefacts
  of a stride-k decoder raise it above 1; natural and procedural images stay ≈ 1.

Example:
    layer = rain_layer(rainy_uint8, clean_uint8)
    high_frequency_energy(layer), orientation(structure_tensor(layer)), grid_step_ratio(rainy_uint8, 4)
"""

from __future__ import annotations

import math

import cv2
import numpy as np

LUMA = np.array([0.299, 0.587, 0.114], np.float64)   # BT.601, as training.metrics uses
HF_CUTOFF = 0.125   # cycles/pixel


def luma(image: np.ndarray) -> np.ndarray:
    """(H, W) float64 in [0, 1] from (H, W, 3) uint8 RGB or an (H, W) grey image in [0, 1]."""
    if image.ndim == 2:
        return image.astype(np.float64)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected (H, W, 3) RGB or (H, W) grey, got shape {image.shape}")
    scale = 255.0 if image.dtype == np.uint8 else 1.0
    return (image.astype(np.float64) / scale) @ LUMA


def rain_layer(rainy: np.ndarray, clean: np.ndarray) -> np.ndarray:
    """Luma of rainy − luma of clean, (H, W) float64 in [−1, 1]."""
    if rainy.shape != clean.shape:
        raise ValueError(f"rainy image {rainy.shape} and clean image {clean.shape} differ in size")
    return luma(rainy) - luma(clean)


def high_frequency_energy(layer: np.ndarray, cutoff: float = HF_CUTOFF) -> tuple[float, float]:
    """(energy above `cutoff` cycles/pixel, that energy as a share of the layer's variance).

    The share is 0 for a layer without variance (a uniform veil)."""
    mirrored = np.pad(layer - layer.mean(), ((0, layer.shape[0]), (0, layer.shape[1])), mode="symmetric")
    h, w = mirrored.shape   # (2H, 2W): even extension, its high-passed part is mirrored too
    spectrum = np.fft.fft2(mirrored)
    radius = np.hypot(np.fft.fftfreq(h)[:, None], np.fft.fftfreq(w)[None, :])   # (H, W) cycles/pixel
    power = np.abs(spectrum) ** 2 / float(h * w) ** 2   # sums to the layer's variance (Parseval)
    high = float(power[radius > cutoff].sum())
    total = float(power.sum())
    return high, (high / total if total > 0 else 0.0)


def structure_tensor(layer: np.ndarray) -> np.ndarray:
    """(Jxx, Jyy, Jxy): means of gx², gy², gx·gy over the layer (x right, y down).

    Sums of these over images give the pooled orientation of a set."""
    layer = layer.astype(np.float64)
    gx = cv2.Scharr(layer, cv2.CV_64F, 1, 0)
    gy = cv2.Scharr(layer, cv2.CV_64F, 0, 1)
    return np.array([np.mean(gx * gx), np.mean(gy * gy), np.mean(gx * gy)])


def orientation(tensor: np.ndarray) -> tuple[float, float]:
    """(tilt in degrees from the vertical in (−90, 90], coherence in [0, 1]) of a structure tensor."""
    jxx, jyy, jxy = (float(v) for v in tensor)
    trace = jxx + jyy
    if trace <= 0:
        return 0.0, 0.0
    tilt = 0.5 * math.degrees(math.atan2(2.0 * jxy, jxx - jyy))
    if tilt <= -90.0:
        tilt += 180.0
    coherence = math.hypot(jxx - jyy, 2.0 * jxy) / trace
    return tilt, min(coherence, 1.0)


def grid_steps(image: np.ndarray, k: int) -> tuple[float, int, float, int]:
    """(sum of |steps| on the k-grid, their count, sum off the grid, their count) of an image."""
    if k < 2:
        raise ValueError(f"grid spacing must be at least 2 pixels, got {k}")
    grey = luma(image)
    on_sum = off_sum = 0.0
    on_n = off_n = 0
    for steps in (np.abs(np.diff(grey, axis=1)), np.abs(np.diff(grey, axis=0)).T):
        # column j of `steps` is the boundary between pixels j and j + 1
        on = (np.arange(steps.shape[1]) + 1) % k == 0
        on_sum += float(steps[:, on].sum())
        on_n += int(steps[:, on].size)
        off_sum += float(steps[:, ~on].sum())
        off_n += int(steps[:, ~on].size)
    return on_sum, on_n, off_sum, off_n


def step_ratio(on_sum: float, on_n: int, off_sum: float, off_n: int) -> float | None:
    """Mean on-grid step / mean off-grid step; None when either is undefined (a flat image)."""
    if on_n == 0 or off_n == 0 or off_sum == 0:
        return None
    return (on_sum / on_n) / (off_sum / off_n)


def grid_step_ratio(image: np.ndarray, k: int) -> float | None:
    """Step ratio across the k-pixel grid lines of one image (see the module docstring)."""
    return step_ratio(*grid_steps(image, k))


def compare_layers(measured: dict[str, float], reference: dict[str, float]) -> dict[str, float | bool]:
    """How a rain layer's measurements compare with a reference (real rain): the issue's
    "within 25 %" read as HF energy ratio in [0.75, 1.25], coherence ratio in [0.75, 1.25]
    and tilt difference ≤ 22.5° (25 % of the largest possible difference, 90°).

    Args:
        measured, reference: dicts with `hf_energy`, `tilt_deg`, `coherence` (measure-rain's
            `rain_layer` section).
    """
    def ratio(key: str) -> float:
        return measured[key] / reference[key] if reference[key] > 0 else math.inf

    tilt_diff = abs(measured["tilt_deg"] - reference["tilt_deg"]) % 180.0
    tilt_diff = min(tilt_diff, 180.0 - tilt_diff)
    hf, coh = ratio("hf_energy"), ratio("coherence")
    return {"hf_energy_ratio": hf, "coherence_ratio": coh, "tilt_difference_deg": tilt_diff,
            "within_25_percent": bool(0.75 <= hf <= 1.25 and 0.75 <= coh <= 1.25 and tilt_diff <= 22.5)}
