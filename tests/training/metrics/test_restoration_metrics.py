"""PSNR / SSIM / Y channel against scikit-image (an independent implementation)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from skimage.color import rgb2ycbcr
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from training.metrics.restoration import psnr, psnr_torch, rgb_to_y, rgb_to_y_torch, ssim, ssim_torch


def sk_ssim(a: np.ndarray, b: np.ndarray) -> float:
    return structural_similarity(a.astype(np.float64), b.astype(np.float64), gaussian_weights=True,
                                 sigma=1.5, use_sample_covariance=False, data_range=255,
                                 channel_axis=-1 if a.ndim == 3 else None)


def degraded_pair(seed: int, shape=(40, 52, 3)) -> tuple[np.ndarray, np.ndarray]:
    """A smooth-ish image and a noisy, slightly shifted copy (uint8)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[: shape[0], : shape[1]]
    base = 120 + 80 * np.sin(x[..., None] / 6.0 + np.arange(shape[2])) * np.cos(y[..., None] / 9.0)
    clean = np.clip(base + rng.normal(0, 8, shape), 0, 255).astype(np.uint8)
    noisy = np.clip(np.roll(clean, 1, axis=1) + rng.normal(0, 20, shape), 0, 255).astype(np.uint8)
    return noisy, clean


def to_batch(*imgs: np.ndarray, scale: float = 255.0) -> torch.Tensor:
    return torch.stack([torch.from_numpy(i).permute(2, 0, 1) for i in imgs]).double() / scale


def test_y_channel_matches_skimage_bt601():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (9, 11, 3)).astype(np.uint8)
    ref = rgb2ycbcr(img)[..., 0]  # skimage: Y = 16 + 65.481 R + 128.553 G + 24.966 B, R in [0, 1]
    np.testing.assert_allclose(rgb_to_y(img), ref, atol=1e-9)
    np.testing.assert_allclose(rgb_to_y(img / 255.0, data_range=1.0), ref, atol=1e-9)
    y = rgb_to_y_torch(to_batch(img))[0, 0].numpy()
    np.testing.assert_allclose(y, ref, atol=1e-9)
    assert rgb_to_y(np.zeros((1, 1, 3))) == 16.0
    assert rgb_to_y(np.full((1, 1, 3), 255.0)) == pytest.approx(235.0)


@pytest.mark.parametrize("seed", [0, 1])
def test_numpy_metrics_match_skimage(seed):
    a, b = degraded_pair(seed)
    assert psnr(a, b) == pytest.approx(peak_signal_noise_ratio(b, a, data_range=255), abs=1e-10)
    assert ssim(a, b) == pytest.approx(sk_ssim(a, b), abs=1e-10)
    ya, yb = rgb2ycbcr(a)[..., 0], rgb2ycbcr(b)[..., 0]
    assert psnr(a, b, y_channel=True) == pytest.approx(peak_signal_noise_ratio(yb, ya, data_range=255))
    assert ssim(a, b, y_channel=True) == pytest.approx(sk_ssim(ya, yb), abs=1e-10)
    # Floats in [0, 1] with data_range=1 score the same as the uint8 images.
    assert psnr(a / 255.0, b / 255.0, data_range=1.0) == pytest.approx(psnr(a, b))
    assert ssim(a / 255.0, b / 255.0, data_range=1.0) == pytest.approx(ssim(a, b))


def test_psnr_hand_computed_and_identical():
    a = np.zeros((4, 4), np.uint8)
    b = a.copy()
    b[0, 0] = 16  # MSE = 256 / 16 = 16 -> PSNR = 10 log10(255^2 / 16)
    assert psnr(a, b) == pytest.approx(10 * math.log10(255**2 / 16))
    assert psnr(a, a) == math.inf
    big = np.random.default_rng(0).integers(0, 256, (16, 16, 3)).astype(np.uint8)
    assert ssim(big, big) == pytest.approx(1.0)


@pytest.mark.parametrize("y_channel", [False, True])
def test_torch_batch_matches_skimage(y_channel):
    pairs = [degraded_pair(s) for s in (2, 3, 4)]
    pred, target = to_batch(*[p for p, _ in pairs]), to_batch(*[t for _, t in pairs])
    conv = (lambda x: rgb2ycbcr(x)[..., 0]) if y_channel else (lambda x: x)
    ref_psnr = [peak_signal_noise_ratio(conv(t), conv(p), data_range=255) for p, t in pairs]
    ref_ssim = [sk_ssim(conv(p), conv(t)) for p, t in pairs]
    np.testing.assert_allclose(psnr_torch(pred, target, y_channel=y_channel).numpy(), ref_psnr, rtol=1e-10)
    np.testing.assert_allclose(ssim_torch(pred, target, y_channel=y_channel).numpy(), ref_ssim, atol=1e-10)
    # float32, the training dtype, stays within 1e-4 of the float64 reference.
    s32 = ssim_torch(pred.float(), target.float(), y_channel=y_channel)
    assert s32.dtype == torch.float32
    np.testing.assert_allclose(s32.numpy(), ref_ssim, atol=1e-4)
    p32 = psnr_torch(pred.float() * 255, target.float() * 255, data_range=255.0, y_channel=y_channel)
    np.testing.assert_allclose(p32.numpy(), ref_psnr, atol=1e-3)


def test_bad_shapes():
    with pytest.raises(ValueError, match="shapes differ"):
        psnr(np.zeros((4, 4, 3)), np.zeros((4, 5, 3)))
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim(np.zeros((8, 20)), np.zeros((8, 20)))
    with pytest.raises(ValueError, match="B, C, H, W"):
        ssim_torch(torch.zeros(3, 16, 16), torch.zeros(3, 16, 16))
    with pytest.raises(ValueError, match="RGB"):
        psnr(np.zeros((16, 16)), np.zeros((16, 16)), y_channel=True)


images = arrays(np.uint8, (12, 13, 3), elements=st.integers(0, 255))


@settings(max_examples=25, deadline=None)
@given(images, images)
def test_properties(a, b):
    s = ssim(a, b)
    assert -1.0 <= s <= 1.0 + 1e-12
    assert s == pytest.approx(ssim(b, a))  # symmetric
    assert ssim(a, a) == pytest.approx(1.0)
    p = psnr(a, b)
    assert p == psnr(b, a)
    if not np.array_equal(a, b):
        # PSNR never drops when the error shrinks: halve the difference (exact in float).
        half = (a.astype(np.float64) + b) / 2
        assert psnr(half, b) > p
        assert p == pytest.approx(peak_signal_noise_ratio(b, a, data_range=255))
