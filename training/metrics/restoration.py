"""Image-restoration metrics: PSNR and SSIM on RGB or on the Y channel of YCbCr.

Two implementations of the same formulas:
- numpy (`psnr`, `ssim`) for one (H, W, 3) or (H, W) image pair, used by `evaluate-images`;
- torch (`psnr_torch`, `ssim_torch`) for batches (B, 3, H, W) on any device, used in training.

Conventions (deraining papers; MPRNet / Restormer / BasicSR evaluation code):
- Everything is computed on the 0..255 scale (inputs are rescaled by 255 / data_range),
  so PSNR = 10 log10(255^2 / MSE) and SSIM's constants use L = 255.
- Y channel: ITU-R BT.601 "studio swing" luma, Y = 16 + 65.481 R + 128.553 G + 24.966 B with
  R, G, B in [0, 1], giving Y in [16, 235]. Y is kept in floating point (BasicSR); MATLAB's
  rgb2ycbcr on uint8 images rounds it to integers, which moves PSNR by up to ~0.1 dB (measured:
  -0.08 dB on a 39 dB pair, -0.006 dB on 27 dB pairs) and SSIM by ~1e-4.
- SSIM: Wang et al. 2004 with an 11x11 Gaussian window (sigma 1.5), K1 = 0.01, K2 = 0.03,
  population statistics, averaged over the "valid" region (pixels whose window lies inside the
  image) and, for RGB, over the three channels. This equals
  skimage.metrics.structural_similarity(gaussian_weights=True, sigma=1.5,
  use_sample_covariance=False, data_range=255[, channel_axis=-1]).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy.ndimage import correlate1d

MAX_VALUE = 255.0
SSIM_SIGMA = 1.5
SSIM_RADIUS = 5  # int(3.5 * sigma + 0.5), the radius scipy/skimage use -> 11 taps
SSIM_K1, SSIM_K2 = 0.01, 0.03
_Y_WEIGHTS = (65.481, 128.553, 24.966)


def gaussian_kernel1d(sigma: float = SSIM_SIGMA, radius: int = SSIM_RADIUS) -> np.ndarray:
    """Normalised 1-D Gaussian taps, (2 * radius + 1,), as scipy.ndimage.gaussian_filter builds them."""
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    k = np.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


# ----------------------------------------------------------------------------- numpy

def _to_255(img: np.ndarray, data_range: float) -> np.ndarray:
    return np.asarray(img, dtype=np.float64) * (MAX_VALUE / data_range)


def rgb_to_y(img: np.ndarray, data_range: float = MAX_VALUE) -> np.ndarray:
    """BT.601 luma of an RGB image (H, W, 3) in [0, data_range]; returns (H, W) float64 in [16, 235]."""
    if img.ndim != 3 or img.shape[-1] != 3:
        raise ValueError(f"expected an (H, W, 3) RGB image, got shape {img.shape}")
    rgb01 = _to_255(img, data_range) / MAX_VALUE
    return 16.0 + rgb01 @ np.asarray(_Y_WEIGHTS)


def _prepare(pred: np.ndarray, target: np.ndarray, data_range: float,
             y_channel: bool) -> tuple[np.ndarray, np.ndarray]:
    if pred.shape != target.shape:
        raise ValueError(f"image shapes differ: {pred.shape} vs {target.shape}")
    if y_channel:
        return rgb_to_y(pred, data_range), rgb_to_y(target, data_range)
    return _to_255(pred, data_range), _to_255(target, data_range)


def psnr(pred: np.ndarray, target: np.ndarray, data_range: float = MAX_VALUE,
         y_channel: bool = False) -> float:
    """Peak signal-to-noise ratio in dB (inf for identical images).

    Args:
        pred, target: (H, W, 3) RGB or (H, W) images with values in [0, data_range].
        data_range: 255 for uint8 images, 1.0 for floats in [0, 1].
        y_channel: score the BT.601 Y channel instead of all channels.
    """
    a, b = _prepare(pred, target, data_range, y_channel)
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else float(10.0 * np.log10(MAX_VALUE**2 / mse))


def _ssim_2d(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM of two (H, W) float64 images on the 0..255 scale over the valid region."""
    k = gaussian_kernel1d()
    r = SSIM_RADIUS
    if min(a.shape) < 2 * r + 1:
        raise ValueError(f"SSIM needs images of at least {2 * r + 1}x{2 * r + 1}, got {a.shape}")

    def blur(x: np.ndarray) -> np.ndarray:
        # Separable Gaussian, then keep only pixels whose whole window is inside the image,
        # so the border mode never matters.
        y = correlate1d(correlate1d(x, k, axis=0, mode="reflect"), k, axis=1, mode="reflect")
        return y[r:-r, r:-r]

    c1, c2 = (SSIM_K1 * MAX_VALUE) ** 2, (SSIM_K2 * MAX_VALUE) ** 2
    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a**2
    var_b = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return float(s.mean())


def ssim(pred: np.ndarray, target: np.ndarray, data_range: float = MAX_VALUE,
         y_channel: bool = False) -> float:
    """Structural similarity in [-1, 1] (1 for identical images); RGB = mean over channels.

    Args: as `psnr`.
    """
    a, b = _prepare(pred, target, data_range, y_channel)
    if a.ndim == 2:
        return _ssim_2d(a, b)
    return float(np.mean([_ssim_2d(a[..., c], b[..., c]) for c in range(a.shape[-1])]))


# ----------------------------------------------------------------------------- torch

def _check_batch(pred: torch.Tensor, target: torch.Tensor) -> None:
    if pred.shape != target.shape or pred.dim() != 4:
        raise ValueError(f"expected two (B, C, H, W) tensors of one shape, got "
                         f"{tuple(pred.shape)} and {tuple(target.shape)}")


def rgb_to_y_torch(img: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """BT.601 luma of (B, 3, H, W) RGB in [0, data_range]; returns (B, 1, H, W) on the 0..255 scale."""
    if img.dim() != 4 or img.shape[1] != 3:
        raise ValueError(f"expected (B, 3, H, W) RGB, got {tuple(img.shape)}")
    w = torch.tensor(_Y_WEIGHTS, dtype=img.dtype, device=img.device).view(1, 3, 1, 1)
    return 16.0 + (img / data_range * w).sum(dim=1, keepdim=True)


def _prepare_torch(pred: torch.Tensor, target: torch.Tensor, data_range: float,
                   y_channel: bool) -> tuple[torch.Tensor, torch.Tensor]:
    _check_batch(pred, target)
    # float32 at least: half precision cannot hold 255^2-sized moments accurately.
    dtype = torch.promote_types(pred.dtype, torch.float32)
    pred, target = pred.to(dtype), target.to(dtype)
    if y_channel:
        return rgb_to_y_torch(pred, data_range), rgb_to_y_torch(target, data_range)
    return pred * (MAX_VALUE / data_range), target * (MAX_VALUE / data_range)


@torch.no_grad()
def psnr_torch(pred: torch.Tensor, target: torch.Tensor, data_range: float = 1.0,
               y_channel: bool = False) -> torch.Tensor:
    """Per-image PSNR in dB of (B, C, H, W) batches in [0, data_range]; returns (B,) (inf if identical)."""
    a, b = _prepare_torch(pred, target, data_range, y_channel)
    mse = (a - b).pow(2).flatten(1).mean(dim=1)  # (B,)
    return 10.0 * torch.log10(MAX_VALUE**2 / mse)


@torch.no_grad()
def ssim_torch(pred: torch.Tensor, target: torch.Tensor, data_range: float = 1.0,
               y_channel: bool = False) -> torch.Tensor:
    """Per-image SSIM of (B, C, H, W) batches in [0, data_range], mean over channels; returns (B,)."""
    a, b = _prepare_torch(pred, target, data_range, y_channel)
    n, c, h, w = a.shape
    size = 2 * SSIM_RADIUS + 1
    if min(h, w) < size:
        raise ValueError(f"SSIM needs images of at least {size}x{size}, got {h}x{w}")
    k = torch.from_numpy(gaussian_kernel1d()).to(a.dtype).to(a.device)
    kv, kh = k.view(1, 1, size, 1), k.view(1, 1, 1, size)

    def blur(x: torch.Tensor) -> torch.Tensor:
        # Channels folded into the batch; no padding = the valid region only.
        x = x.reshape(n * c, 1, h, w)
        return F.conv2d(F.conv2d(x, kv), kh)  # (B*C, 1, H-10, W-10)

    c1, c2 = (SSIM_K1 * MAX_VALUE) ** 2, (SSIM_K2 * MAX_VALUE) ** 2
    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a**2
    var_b = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return s.reshape(n, -1).mean(dim=1)  # mean over channels and pixels = mean of channel means
