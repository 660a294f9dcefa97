"""Periodic noise tiles: cheap, seamless textures sampled by world or screen coordinates."""

from __future__ import annotations

import numpy as np


def noise_tile(rng: np.random.Generator, size: int = 256, beta: float = 1.6,
               low_cut: float = 1.0) -> np.ndarray:
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


def sample_tile(tile: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Nearest-neighbour lookup of a periodic tile at float coordinates (any matching shapes)."""
    n, m = tile.shape
    return tile[np.floor(rows).astype(np.int64) % n, np.floor(cols).astype(np.int64) % m]


def hash01(*keys: np.ndarray | int) -> np.ndarray:
    """Deterministic pseudo-random numbers in [0, 1) from integer keys (vectorised integer hash)."""
    h = np.uint64(0x9E3779B97F4A7C15)
    acc = np.zeros(np.broadcast_shapes(*(np.shape(k) for k in keys)), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in keys:
            acc = (acc ^ (np.asarray(k).astype(np.int64).astype(np.uint64) + h + (acc << np.uint64(6))
                          + (acc >> np.uint64(2))))
            acc *= np.uint64(0xBF58476D1CE4E5B9)
            acc ^= acc >> np.uint64(31)
    return (acc >> np.uint64(11)).astype(np.float64) / float(1 << 53)
