"""Rendered scenes: label sets, class coverage, depth geometry, twins, rain and night effects."""

from __future__ import annotations

import numpy as np
import pytest

from rain_seg_ros.labels import CITYSCAPES_CLASSES
from training.scenes.environment import SKY_DEPTH_M
from training.scenes.rain import render_rain
from training.scenes.sample import SceneSpec, generate_sample

SPEC = SceneSpec(128, 256, rain_range=(0.6, 0.6), night=True)


@pytest.fixture(scope="module")
def samples():
    return [generate_sample(0, i, SPEC) for i in range(32)]


def test_labels_are_train_ids_or_ignore(samples):
    for s in samples:
        values = set(np.unique(s.label).tolist())
        assert values <= set(range(19)) | {255}, values


def test_all_19_classes_appear(samples):
    seen = set().union(*(np.unique(s.label).tolist() for s in samples))
    must = {
        "road",
        "sidewalk",
        "building",
        "vegetation",
        "sky",
        "car",
        "person",
        "pole",
        "traffic sign",
        "traffic light",
        "terrain",
        "wall",
        "fence",
        "rider",
        "bicycle",
        "truck",
        "bus",
    }
    missing_required = {n for n in must if CITYSCAPES_CLASSES.index(n) not in seen}
    assert not missing_required
    assert seen >= set(range(19)), sorted(set(range(19)) - seen)


def test_every_scene_is_a_street(samples):
    for s in samples:
        frac = np.bincount(s.label.ravel(), minlength=256) / s.label.size
        assert frac[0] > 0.05, "road"  # road visible
        assert frac[10] + frac[2] + frac[8] > 0.1  # sky / buildings / vegetation above the horizon


def test_ground_depth_matches_flat_ground_formula(samples):
    """Road depth must be the pinhole ground-plane depth h * f / (v - cy) (independent formula),
    hence grow toward the horizon."""
    for s in samples[:8]:
        cam = s.layout.camera
        rows, cols = np.nonzero(s.label == 0)
        expected = cam.mount_height_m * cam.focal_px / (rows + 0.5 - cam.cy)
        # Objects and the 0.6 px optical blur do not touch labels or depth: exact up to float32.
        np.testing.assert_allclose(s.depth[rows, cols], expected, rtol=1e-3)
        per_row = [np.median(s.depth[r][s.label[r] == 0]) for r in np.unique(rows)]
        assert np.all(np.diff(per_row) < 0), "road depth must increase toward the horizon (upwards)"


def test_sky_is_far_and_objects_are_nearer_than_background(samples):
    for s in samples[:8]:
        assert np.all(s.depth[s.label == 10] == np.float32(SKY_DEPTH_M))
        assert np.all(s.depth[s.label == 13] < 300.0)


def test_twins_share_geometry_and_flags_do_not_change_it():
    a = generate_sample(3, 7, SceneSpec(96, 192, rain_range=(0.2, 0.2), night=False))
    b = generate_sample(3, 7, SceneSpec(96, 192, rain_range=(0.9, 0.9), night=True, lens_drops=True))
    assert np.array_equal(a.clean, b.clean)
    assert np.array_equal(a.label, b.label)
    assert np.array_equal(a.depth, b.depth)
    assert b.night is not None and b.night.shape == b.clean.shape
    assert not np.array_equal(a.rain, b.rain)


def test_rain_difference_grows_with_intensity(samples):
    s = samples[1]
    diffs = []
    for intensity in (0.0, 0.25, 0.5, 0.75, 1.0):
        rainy = render_rain(s.clean, s.depth, intensity, np.random.default_rng(5), ground_mask=s.label == 0)
        diffs.append(np.abs(rainy.astype(np.float64) - s.clean).mean())
    assert diffs[0] == 0.0
    assert all(b > a for a, b in zip(diffs, diffs[1:])), diffs
    assert diffs[-1] > 10.0


def test_rain_haze_grows_with_distance(samples):
    """Attenuation towards the airlight is stronger for far pixels than near ones."""
    s = samples[2]
    rainy = render_rain(s.clean, s.depth, 1.0, np.random.default_rng(0)).astype(np.float64)
    change = np.abs(rainy - s.clean).mean(axis=2)
    road = s.label == 0
    near = road & (s.depth < 8)
    far = road & (s.depth > 25) & (s.depth < 300)
    assert near.any() and far.any()
    assert change[far].mean() > change[near].mean()


def test_render_rain_on_any_image_with_flat_depth():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)
    out = render_rain(image, 12.0, 0.8, np.random.default_rng(1), lens_drops=True)
    assert out.shape == image.shape and out.dtype == np.uint8
    again = render_rain(image, 12.0, 0.8, np.random.default_rng(1), lens_drops=True)
    assert np.array_equal(out, again)
    with pytest.raises(ValueError, match="intensity"):
        render_rain(image, None, 1.5, rng)
    with pytest.raises(ValueError, match="depth"):
        render_rain(image, np.ones((10, 10)), 0.5, rng)
    with pytest.raises(ValueError, match="uint8"):
        render_rain(image.astype(np.float32), None, 0.5, rng)


def test_night_is_much_darker_than_day(samples):
    day = np.mean([s.clean.mean() for s in samples[:10]])
    night = np.mean([s.night.mean() for s in samples[:10]])
    assert night < 0.5 * day, (night, day)
    # ...but not black: lights and lit windows survive.
    assert max(s.night.max() for s in samples[:10]) > 200


def test_streaks_nearer_are_longer_and_wider_and_occluded():
    """Only drops in front of a surface show: with everything 2 m away only the nearest layer
    is visible, and its streaks are longer and wider than the mix seen in front of far surfaces."""
    from skimage.measure import label, regionprops

    from training.scenes.rain import _streaks

    def stats(depth_m: float) -> tuple[int, float, float]:
        opacity = _streaks(np.random.default_rng(0), np.full((256, 512), depth_m, np.float32), 1.0, 0.1)
        props = regionprops(label(opacity > 0.02))
        heights = [p.bbox[2] - p.bbox[0] for p in props]
        widths = [p.area / h for p, h in zip(props, heights)]
        return len(props), float(np.mean(heights or [0])), float(np.mean(widths or [0]))

    assert stats(1.0)[0] == 0  # nearer than the nearest rain layer: no streaks at all
    n_near, h_near, w_near = stats(2.0)
    n_far, h_far, w_far = stats(100.0)
    assert n_far > 5 * n_near > 0
    assert h_near > 2 * h_far
    assert w_near > 2 * w_far
