"""Streak and artefact measurements against analytic values and independent numpy references."""

import math

import numpy as np
import pytest

from training.rain_realism import streaks


def lines(theta_deg: float, size: int = 96, period: float = 7.0, sigma: float = 0.8) -> np.ndarray:
    """Parallel Gaussian-profile lines tilted theta from the vertical ("/" positive), drawn from
    their distance formula: the normal of a line of tilt θ is (cos θ, sin θ) in x-right, y-down."""
    t = math.radians(theta_deg)
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    s = x * math.cos(t) + y * math.sin(t)
    d = s - period * np.round(s / period)          # distance to the nearest line
    return np.exp(-d ** 2 / (2 * sigma ** 2))


def test_high_frequency_energy_of_cosines_is_half_the_squared_amplitude_above_the_cutoff():
    x = np.arange(64) + 0.5
    fast = np.tile(0.3 * np.cos(2 * np.pi * 0.25 * x), (40, 1))       # 0.25 cycles/px > 1/8
    slow = np.tile(0.3 * np.cos(2 * np.pi * (1 / 32) * x), (40, 1))   # below the cut-off
    energy, share = streaks.high_frequency_energy(fast)
    assert energy == pytest.approx(0.3 ** 2 / 2, rel=1e-6) and share == pytest.approx(1.0)
    assert streaks.high_frequency_energy(slow)[0] < 1e-9
    vertical = fast.T                                                  # direction does not matter
    assert streaks.high_frequency_energy(vertical)[0] == pytest.approx(0.045, rel=1e-6)


def test_a_streak_layer_has_high_frequency_energy_and_a_grey_veil_has_none():
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:80, 0:120] / 120.0
    clean = np.stack([0.2 + 0.5 * xx, 0.3 + 0.3 * yy, 0.4 + 0.1 * xx * yy], -1)   # smooth scene
    streak = np.zeros((80, 120))
    for _ in range(40):                                   # short slanted bright streaks
        r, c = rng.integers(0, 70), rng.integers(0, 110)
        for i in range(10):
            streak[r + i, min(c + i // 3, 119)] = 0.6
    rainy = np.clip(clean + streak[..., None], 0, 1)
    veiled = clean * 0.6 + 0.8 * 0.4
    to8 = lambda a: (a * 255 + 0.5).astype(np.uint8)      # noqa: E731
    rain_hf = streaks.high_frequency_energy(streaks.rain_layer(to8(rainy), to8(clean)))[0]
    veil_hf = streaks.high_frequency_energy(streaks.rain_layer(to8(veiled), to8(clean)))[0]
    assert rain_hf > 1e-3
    assert veil_hf < 1e-5 and rain_hf > 100 * veil_hf


@pytest.mark.parametrize("theta", [0.0, 20.0, -35.0, 60.0, 89.0])
def test_orientation_of_lines_at_a_known_angle_is_recovered(theta):
    tilt, coherence = streaks.orientation(streaks.structure_tensor(lines(theta)))
    diff = abs(tilt - theta) % 180
    assert min(diff, 180 - diff) < 1.0
    assert coherence > 0.8


def test_noise_has_no_dominant_orientation():
    noise = np.random.default_rng(1).normal(size=(96, 96))
    assert streaks.orientation(streaks.structure_tensor(noise))[1] < 0.1


def reference_step_ratio(image: np.ndarray, k: int) -> float:
    """Written out boundary by boundary: mean |step| between pixel k·m − 1 and k·m over the rest."""
    g = 0.299 * image[..., 0] + 0.587 * image[..., 1] + 0.114 * image[..., 2]
    on, off = [], []
    for j in range(1, g.shape[1]):                 # boundary left of column j
        (on if j % k == 0 else off).extend(np.abs(g[:, j] - g[:, j - 1]))
    for i in range(1, g.shape[0]):                 # boundary above row i
        (on if i % k == 0 else off).extend(np.abs(g[i] - g[i - 1]))
    return float(np.mean(on) / np.mean(off))


def test_a_4px_block_grid_has_a_large_step_ratio_and_a_smooth_image_about_one():
    rng = np.random.default_rng(2)
    h, w = 64, 96
    yy, xx = np.mgrid[0:h, 0:w] / w
    smooth = np.stack([0.3 + 0.4 * xx + 0.1 * np.sin(9 * yy)] * 3, -1)
    blocks = np.kron(rng.normal(0, 0.04, (h // 4, w // 4)), np.ones((4, 4)))[..., None]
    gridded = (np.clip(smooth + blocks, 0, 1) * 255).astype(np.uint8)
    textured = (np.clip(smooth + rng.normal(0, 0.05, (h, w, 1)), 0, 1) * 255).astype(np.uint8)
    for k in (2, 4, 8):
        for image in (gridded, textured):
            assert streaks.grid_step_ratio(image, k) == pytest.approx(reference_step_ratio(image / 255.0, k))
    assert streaks.grid_step_ratio(gridded, 4) > 3.0
    assert streaks.grid_step_ratio(gridded, 8) > 3.0
    for k in (2, 4, 8):
        assert abs(streaks.grid_step_ratio(textured, k) - 1.0) < 0.1


def test_a_flat_image_has_no_step_ratio():
    assert streaks.grid_step_ratio(np.full((16, 16, 3), 77, np.uint8), 4) is None


def test_compare_layers_reads_within_25_percent_plainly():
    real = {"hf_energy": 1e-3, "tilt_deg": 85.0, "coherence": 0.6}
    close = {"hf_energy": 1.2e-3, "tilt_deg": -80.0, "coherence": 0.5}    # 15° apart across ±90
    far = {"hf_energy": 0.2e-3, "tilt_deg": 85.0, "coherence": 0.6}
    assert streaks.compare_layers(close, real)["within_25_percent"] is True
    assert streaks.compare_layers(close, real)["tilt_difference_deg"] == pytest.approx(15.0)
    assert streaks.compare_layers(far, real)["within_25_percent"] is False


def test_the_detectors_block_grid_negatives_are_block_grids():
    import torch

    from training.rain_realism.data import block_artefacts

    smooth = torch.linspace(0.2, 0.8, 64).expand(8, 3, 48, 64).clone()   # both kinds occur
    gridded = block_artefacts(smooth, torch.Generator().manual_seed(0))
    for image in gridded:
        pixels = (image.permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
        assert max(reference_step_ratio(pixels / 255.0, k) for k in (2, 4, 8)) > 1.5
