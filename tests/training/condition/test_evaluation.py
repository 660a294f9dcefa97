"""Confusion matrix and scores against independent references; the other-renderer variants."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from training.condition.evaluation import condition_scores, confusion_matrix
from training.condition.other_renderer import other_renderer_set
from training.condition.sources import ConditionItem


def test_confusion_matrix_matches_a_counting_loop():
    rng = np.random.default_rng(0)
    true, pred = rng.integers(0, 4, 200), rng.integers(0, 4, 200)
    reference = np.zeros((4, 4), np.int64)
    for t, p in zip(true, pred):
        reference[t, p] += 1
    np.testing.assert_array_equal(confusion_matrix(true, pred), reference)


def test_scores_by_hand():
    # outputs [P(rain), P(night), intensity]; targets [rain, night, intensity], -1 unknown
    outputs = np.array([[0.9, 0.1, 0.8],    # true rain (0.6)   -> rain          (right)
                        [0.2, 0.7, 0.1],    # true clear        -> night         (wrong)
                        [0.6, 0.8, 0.5],    # true rain+night   -> rain+night    (right)
                        [0.4, 0.9, 0.0],    # night, rain unknown: only the night head counts
                        [0.1, 0.2, 0.3]])   # true clear (0.0)  -> clear         (right)
    targets = np.array([[1, 0, 0.6], [0, 0, 0.0], [1, 1, -1], [-1, 1, -1], [0, 0, 0.0]])
    s = condition_scores(outputs, targets)
    cm = np.zeros((4, 4), int)
    cm[1, 1], cm[0, 2], cm[3, 3], cm[0, 0] = 1, 1, 1, 1
    assert s["confusion_matrix"] == cm.tolist()
    assert s["accuracy"] == pytest.approx(3 / 4)
    assert s["rain_accuracy"] == pytest.approx(4 / 4) and s["rain_samples"] == 4
    assert s["night_accuracy"] == pytest.approx(4 / 5) and s["night_samples"] == 5
    assert s["intensity_mae"] == pytest.approx((0.2 + 0.1 + 0.3) / 3)
    assert s["intensity_rmse"] == pytest.approx(np.sqrt((0.04 + 0.01 + 0.09) / 3))
    assert s["intensity_mae_rainy"] == pytest.approx(0.2)
    assert s["per_class_recall"]["clear"] == pytest.approx(0.5)


def test_other_renderer_variants_are_labelled_and_look_the_part(tmp_path):
    rng = np.random.default_rng(1)
    img = (rng.random((48, 96, 3)) * 120 + 100).astype(np.uint8)   # a bright day image
    Image.fromarray(img).save(tmp_path / "day.png")
    ds = other_renderer_set([ConditionItem(tmp_path / "day.png", 0, 0, 0.0, "day")], (48, 96), seed=0)
    samples = [ds[i] for i in range(4)]
    assert [tuple(s["target"][:2].int().tolist()) for s in samples] == [(0, 0), (1, 0), (0, 1), (1, 1)]
    clear, rain, night, both = (s["image"].numpy() for s in samples)
    np.testing.assert_allclose(clear, img.transpose(2, 0, 1) / 255.0, atol=1e-6)
    assert np.abs(rain - clear).mean() > 0.01                     # streaks / dimming drawn
    assert night.mean() < 0.5 * clear.mean() and both.mean() < 0.5 * clear.mean()
    again = other_renderer_set([ConditionItem(tmp_path / "day.png", 0, 0, 0.0, "day")], (48, 96), seed=0)
    np.testing.assert_array_equal(again[3]["image"].numpy(), both)  # a pure function of (seed, k, v)
