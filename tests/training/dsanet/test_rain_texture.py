"""Rain-layer texture statistics against a numpy formula and hand-made layers; the DSANet term."""

import numpy as np
import pytest
import torch

from training.dsanet.step import forward_dsanet
from training.losses.dsanet import LossConfig, generator_losses
from training.losses.rain_texture import NUM_STATISTICS, rain_statistics

from .dsanet_helpers import LookupEncoder, LookupGenerator, const_images


def _np_statistics(layer: np.ndarray) -> np.ndarray:
    """The module docstring's statistics, one image (3, H, W), in float64 numpy."""
    luma = 0.299 * layer[0] + 0.587 * layer[1] + 0.114 * layer[2]
    out, shape, x = [], [], luma
    for scale in range(3):
        if scale:
            h, w = x.shape[0] // 2, x.shape[1] // 2
            x = x[:2 * h, :2 * w].reshape(h, 2, w, 2).mean(axis=(1, 3))
        e = [(d ** 2).mean() for d in (np.diff(x, axis=1), np.diff(x, axis=0),
                                       x[1:, 1:] - x[:-1, :-1], x[1:, :-1] - x[:-1, 1:])]
        out += list(0.5 * np.log(np.array(e) + 1e-8))
        shape += [(e[0] - e[1]) / (e[0] + e[1]), (e[2] - e[3]) / (e[2] + e[3])]
    out += shape
    for diff in (np.diff(luma, axis=1), np.diff(luma, axis=0).T):   # boundary j: pixels j | j + 1
        for k in (2, 4):
            on = (np.arange(diff.shape[1]) + 1) % k == 0
            on_ms, off_ms = ((diff[:, sel] ** 2).mean() + 1e-8 for sel in (on, ~on))
            out.append(0.5 * np.log(on_ms) - 0.5 * np.log(off_ms))
    out += list(layer.mean(axis=(1, 2)))
    h, w = luma.shape[0] // 8, luma.shape[1] // 8
    low = luma[:8 * h, :8 * w].reshape(h, 8, w, 8).mean(axis=(1, 3))
    out.append(0.5 * np.log(((low - low.mean()) ** 2).mean() + 1e-8))
    return np.array(out)


def test_statistics_match_the_numpy_formula():
    rng = np.random.default_rng(0)
    layers = rng.uniform(-0.5, 0.5, size=(2, 3, 40, 56))
    got = rain_statistics(torch.tensor(layers, dtype=torch.float32)).numpy()
    assert got.shape == (2, NUM_STATISTICS)
    for i in range(2):
        np.testing.assert_allclose(got[i], _np_statistics(layers[i]), rtol=1e-4, atol=1e-5)


def test_streaks_have_a_direction_and_a_uniform_veil_has_no_texture():
    h, w = 64, 64
    yy, xx = np.mgrid[0:h, 0:w]
    vertical = np.where(xx % 6 == 0, 0.3, 0.0)                  # thin vertical streaks
    tilted = np.where((xx + yy) % 6 == 0, 0.3, 0.0)             # lines along "/"
    veil = np.full((h, w), 0.2)
    s = {name: rain_statistics(torch.tensor(np.stack([v] * 3)[None], dtype=torch.float32))[0].numpy()
         for name, v in (("vertical", vertical), ("tilted", tilted), ("veil", veil))}
    flat = np.log(1e-4) + 1e-3                                  # the log-RMS of a flat layer, and a bit
    across_cols, across_rows = s["vertical"][:2]
    # vertical lines change only across columns: 2 of every 6 differences are ±0.3
    assert across_cols == pytest.approx(np.log(0.3 * np.sqrt(2 / 6)), abs=1e-3) and across_rows < flat
    assert s["tilted"][3] < flat < np.log(0.1) < s["tilted"][2]  # flat along "/", changing along the other
    assert s["vertical"][12] == pytest.approx(1.0, abs=1e-5)    # all of it across columns
    assert s["tilted"][13] == pytest.approx(1.0, abs=1e-5)      # all of it along the other diagonal
    assert np.all(s["veil"][:12] < flat)                        # no fine structure at any scale
    assert np.all(np.abs(s["veil"][12:18]) < 1e-5)              # and so no direction
    np.testing.assert_allclose(s["veil"][18:22], 0, atol=1e-6)  # no pixel phase
    np.testing.assert_allclose(s["veil"][22:25], 0.2, atol=1e-6)  # but the same darkening/tint
    assert s["veil"][25] < flat                                 # and even haze


def test_texture_term_compares_rainify_with_the_partner_layer():
    # rainified_i = G(b_i ⊕ r'_{i+1}) = (b_i, r'_{i+1}, 0). Constant images: no texture, so only
    # the three channel means differ. Decoded: layer − clean_i = (0, 0.3, 0) / (0, 0.8, 0) vs the
    # partners' real layers (0.1, 0.4, 0) / (−0.1, 0.7, 0): 0.2 and 0.2 over 16 statistics.
    rainy = const_images([(0.2, 0.8), (0.6, 0.4)])
    clean = const_images([(0.3, 0.1), (0.5, 0.0)])
    out = forward_dsanet(LookupEncoder(), LookupGenerator(), rainy, clean, shift=1, cross=True,
                         derain_code="zero")
    w = LossConfig(gan="bce", feat=0, bg=0, adv=0, rec=0, norain=0, transfer=0, texture=4.0)
    terms = generator_losses(out, rainy, clean, torch.nn.Identity(), torch.nn.Identity(), cfg=w)
    assert float(terms["texture"]) == pytest.approx(0.2 / NUM_STATISTICS, abs=1e-6)
    # residual: the layer is rainified − G(b_i ⊕ 0) = (0, 0.4, 0) / (0, 0.8, 0): 0.1 and 0.2
    terms = generator_losses(out, rainy, clean, torch.nn.Identity(), torch.nn.Identity(), cfg=w,
                             residual=True)
    assert float(terms["texture"]) == pytest.approx(0.15 / NUM_STATISTICS, abs=1e-6)
    assert "texture" not in generator_losses(out, rainy, clean, torch.nn.Identity(), torch.nn.Identity(),
                                             cfg=LossConfig())


def test_a_block_grid_has_a_pixel_phase_and_streaks_have_none():
    rng = np.random.default_rng(1)
    blocks = np.kron(rng.uniform(-0.2, 0.2, size=(16, 16)), np.ones((4, 4)))   # a 4-px block grid
    streaks = np.where(rng.uniform(size=(64, 64)) > 0.9, 0.3, 0.0)
    streaks = np.cumsum(streaks, axis=0) % 0.6                                    # vertical runs
    s = {name: rain_statistics(torch.tensor(np.stack([v] * 3)[None], dtype=torch.float32))[0].numpy()
         for name, v in (("blocks", blocks), ("streaks", streaks))}
    assert np.all(s["blocks"][[19, 21]] > 5)        # 4-px grid: all its steps on the grid, columns and rows
    assert np.all(np.abs(s["streaks"][18:22]) < 0.3)
