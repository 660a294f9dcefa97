"""Rain augmentation baselines: albumentations RandomRain and the physical renderer."""

from __future__ import annotations

import numpy as np

from training.segmenter.augment import RandomRainAugment, TrainTransform, ground_plane_depth
from training.segmenter.physical_rain import PhysicalRainAugment


def _street(h=64, w=128):
    rng = np.random.default_rng(0)
    img = np.zeros((h, w, 3), np.uint8)
    img[: h // 2] = (90, 140, 200)
    img[h // 2:] = (90, 90, 90)
    return np.clip(img + rng.normal(0, 5, img.shape), 0, 255).astype(np.uint8)


def test_ground_plane_depth_follows_pinhole_road_geometry():
    h, w, cam, horizon = 100, 200, 1.5, 0.45
    depth = ground_plane_depth(h, w, horizon=horizon, camera_height_m=cam, max_depth_m=500.0)
    assert depth.shape == (h, w) and depth.dtype == np.float32
    # A road point at distance Z projects f * cam / Z rows below the horizon (f = w by default).
    for z in (10.0, 20.0, 40.0):
        row = int(round(horizon * h + w * cam / z - 0.5))
        assert abs(depth[row, 7] - z) / z < 0.05
    assert np.all(depth[: int(horizon * h)] == 500.0)  # sky and above: far
    assert np.all(np.diff(depth[int(horizon * h) + 1:, 0]) < 0)  # nearer towards the bottom


def test_random_rain_changes_image_not_mask():
    image, mask = _street(), np.full((64, 128), 3, np.uint8)
    out_img, out_mask = TrainTransform(joint=None, rain=[RandomRainAugment(p=1.0, seed=0)])(image, mask)
    assert out_img.shape == image.shape and out_img.dtype == np.uint8
    assert np.abs(out_img.astype(int) - image).mean() > 1.0
    assert np.array_equal(out_mask, mask)
    assert np.array_equal(RandomRainAugment(p=0.0, seed=0)(image), image)


def test_physical_rain_flat_and_ground_plane():
    image = _street()
    for depth in ("flat", "ground_plane"):
        a = PhysicalRainAugment(p=1.0, intensity=(0.8, 0.8), depth=depth, seed=3)(image)
        b = PhysicalRainAugment(p=1.0, intensity=(0.8, 0.8), depth=depth, seed=3)(image)
        assert np.array_equal(a, b)  # seeded
        assert a.shape == image.shape and np.abs(a.astype(int) - image).mean() > 2.0
    assert np.array_equal(PhysicalRainAugment(p=0.0, seed=0)(image), image)
