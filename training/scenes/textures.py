"""Periodic noise tiles: cheap, seamless textures sampled by world or screen coordinates."""

from __future__ import annotations

import functools

import numpy as np


def noise_tile(
    rng: np.random.Generator, size: int = 256, beta: float = 1.6, low_cut: float = 1.0
) -> np.ndarray:
    """Seamless 1/f^beta noise, (size, size) float32, zero mean, unit std.

    Filtering white noise in the Fourier domain makes the tile periodic by construction, so
    `tile[y % size, x % size]` has no seams when a surface repeats it in perspective.
    """
    white = rng.standard_normal((size, size)).astype(np.float32)
    fy = np.fft.fftfreq(size)[:, None]
    fx = np.fft.rfftfreq(size)[None, :]
    radius = np.sqrt(fx * fx + fy * fy) * size
    gain = 1.0 / np.maximum(radius, low_cut) ** beta
    gain[0, 0] = 0.0
    tile = np.fft.irfft2(np.fft.rfft2(white) * gain, s=(size, size)).astype(np.float32)
    tile -= tile.mean()
    tile /= tile.std() + 1e-6
    return tile


@functools.cache
def _tile_bank(size: int, beta: float, low_cut: float, count: int = 4) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(20261121)  # fixed: the bank is part of the generator, not of a sample
    return tuple(noise_tile(rng, size, beta, low_cut) for _ in range(count))


def random_tile(
    rng: np.random.Generator, size: int = 256, beta: float = 1.6, low_cut: float = 1.0
) -> np.ndarray:
    """A tile from a fixed bank, randomly rolled / flipped / transposed: as varied as a fresh
    `noise_tile` for texturing, without paying an FFT per sample."""
    bank = _tile_bank(size, beta, low_cut)
    tile = bank[int(rng.integers(len(bank)))]
    tile = np.roll(tile, (int(rng.integers(size)), int(rng.integers(size))), axis=(0, 1))
    if rng.random() < 0.5:
        tile = tile.T
    return np.ascontiguousarray(tile[::-1] if rng.random() < 0.5 else tile)
