"""Incomplete-mask makers against independent references: PIL's NEAREST resize for x8, a
taxicab distance transform for the erosion, hand-built regions for the size and gap rules."""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage

from training.restoration.data import find_items, read_mask
from training.restoration.incomplete import IncompleteConfig, coarse_mask, downsample_mask, make_incomplete
from training.restoration.labels import UNKNOWN


def _scene_mask(scenes) -> np.ndarray:
    return read_mask(find_items(scenes, "train")[0], "label_ids")


def test_x8_matches_pil_nearest_down_and_up(scenes):
    fine = _scene_mask(scenes)                                   # (32, 64) labelIds
    h, w = fine.shape
    small = Image.fromarray(fine).resize((w // 8, h // 8), Image.Resampling.NEAREST)
    expected = np.asarray(small.resize((w, h), Image.Resampling.NEAREST))
    assert np.array_equal(downsample_mask(fine, 8), expected)
    rng = np.random.default_rng(0)
    assert np.array_equal(make_incomplete(fine, IncompleteConfig(task="sr8"), rng), expected)


def test_x8_keeps_sizes_that_are_not_multiples():
    fine = np.arange(20 * 13, dtype=np.uint8).reshape(20, 13)
    out = downsample_mask(fine, 8)
    assert out.shape == fine.shape
    assert out[0, 0] == fine[4, 4] and out[19, 12] == fine[min(16 + 4, 19), min(8 + 4, 12)]


def test_erosion_removes_exactly_the_pixels_near_a_boundary(scenes):
    fine = _scene_mask(scenes)
    out = coarse_mask(fine, erode_px=2, min_area=0, drop_p=0.0, rng=np.random.default_rng(0))
    expected = np.full_like(fine, UNKNOWN)
    for cls in np.unique(fine):
        # taxicab distance to the nearest pixel of another class (the image border is no boundary)
        dist = ndimage.distance_transform_cdt(fine == cls, metric="taxicab")
        expected[(fine == cls) & (dist > 2)] = cls
    assert np.array_equal(out, expected)
    known = out != UNKNOWN
    assert 0 < known.mean() < 1 and np.array_equal(out[known], fine[known])


def test_small_regions_vanish_and_gaps_are_left_unlabelled():
    fine = np.full((20, 20), 7, np.uint8)
    fine[2:5, 2:5] = 5                                     # a 9-pixel region of class 5
    fine[10:18, 10:18] = 26                                # a 64-pixel region of class 26
    rng = np.random.default_rng(0)
    out = coarse_mask(fine, erode_px=0, min_area=10, drop_p=0.0, rng=rng)
    assert (out[2:5, 2:5] == UNKNOWN).all() and (out[10:18, 10:18] == 26).all()
    assert np.array_equal(coarse_mask(fine, erode_px=0, min_area=9, drop_p=0.0, rng=rng), fine)
    assert (coarse_mask(fine, erode_px=0, min_area=0, drop_p=1.0, rng=rng) == UNKNOWN).all()
    dropped = [coarse_mask(fine, erode_px=0, min_area=0, drop_p=0.5, rng=np.random.default_rng(s))
               for s in range(20)]
    assert any((d == UNKNOWN).any() for d in dropped) and any((d != UNKNOWN).all() for d in dropped)


def test_ignored_pixels_become_unknown_and_seeds_repeat():
    fine = np.zeros((16, 16), np.uint8)
    fine[:, 8:] = 255                                       # train-id ignore
    cfg = IncompleteConfig(task="sparse", erode_px=1, min_area=0, drop_p=0.3)
    a = make_incomplete(fine, cfg, np.random.default_rng(4), ignore=255)
    b = make_incomplete(fine, cfg, np.random.default_rng(4), ignore=255)
    assert np.array_equal(a, b) and (a[:, 8:] == UNKNOWN).all()
