"""FID's Fréchet distance against the closed form for Gaussians, computed independently."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import linalg

from training.metrics.fid import FeatureStats, frechet_distance


def _reference(mu1, s1, mu2, s2) -> float:
    """The textbook formula with scipy's general matrix square root."""
    covmean = linalg.sqrtm(s1 @ s2).real
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def test_diagonal_gaussians_closed_form():
    mu1, mu2 = np.array([0.0, 1.0, -2.0]), np.array([1.0, 1.0, 0.5])
    a, b = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)   # 1+6.25 + 4+1+0
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-9)
    assert expected == pytest.approx(12.25)


def test_full_covariances_match_scipy_sqrtm():
    rng = np.random.default_rng(0)
    d = 6
    m1, m2 = rng.normal(size=(d, d)), rng.normal(size=(d, d))
    s1, s2 = m1 @ m1.T + 0.1 * np.eye(d), m2 @ m2.T + 0.1 * np.eye(d)
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(_reference(mu1, s1, mu2, s2), rel=1e-7)
    assert frechet_distance(mu1, s1, mu1, s1) == pytest.approx(0.0, abs=1e-8)


def test_samples_of_two_gaussians_approach_the_closed_form():
    rng = np.random.default_rng(1)
    mu1, mu2 = np.array([0.0, 0.0]), np.array([2.0, -1.0])
    s1, s2 = np.array([[1.0, 0.5], [0.5, 2.0]]), np.array([[0.5, 0.0], [0.0, 0.5]])
    stats1, stats2 = FeatureStats(), FeatureStats()
    for _ in range(4):   # added in batches, as evaluation does
        stats1.add(rng.multivariate_normal(mu1, s1, size=20000))
        stats2.add(rng.multivariate_normal(mu2, s2, size=20000))
    assert stats1.count == 80000
    assert frechet_distance(*stats1.stats(), *stats2.stats()) == pytest.approx(
        _reference(mu1, s1, mu2, s2), rel=0.02)


def test_fewer_images_than_dimensions_stays_finite_and_non_negative():
    rng = np.random.default_rng(2)
    a, b = FeatureStats(), FeatureStats()
    a.add(rng.normal(size=(5, 40)))
    b.add(rng.normal(size=(5, 40)) + 1.0)
    value = frechet_distance(*a.stats(), *b.stats())
    assert np.isfinite(value) and value > 0
    with pytest.raises(ValueError, match="at least 2"):
        FeatureStats().stats()
