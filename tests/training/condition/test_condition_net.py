"""ConditionNet's heads and the masked condition loss, against plain-numpy formulas."""

from __future__ import annotations

import numpy as np
import torch

from training.condition.trainer import condition_loss
from training.models import build_model


def _np_bce(logit: np.ndarray, y: np.ndarray) -> np.ndarray:
    p = 1.0 / (1.0 + np.exp(-logit))
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def test_heads_shape_range_and_sigmoid_of_raw():
    torch.manual_seed(0)
    net = build_model("condition_net", {"width": 4, "stages": 3}).eval()
    x = torch.randn(5, 3, 32, 64)
    with torch.no_grad():
        probs, raw = net(x), net(x, raw=True)
    assert probs.shape == (5, 3) and raw.shape == (5, 3)
    assert float(probs.min()) >= 0.0 and float(probs.max()) <= 1.0
    np.testing.assert_allclose(probs.numpy(), 1.0 / (1.0 + np.exp(-raw.numpy().astype(np.float64))),
                               rtol=1e-5, atol=1e-6)


def test_loss_ignores_unknown_facts_and_matches_numpy():
    logits = torch.tensor([[0.3, -1.2, 0.4], [2.0, 0.5, -0.7], [-0.8, 1.1, 1.5]])
    # sample 0: everything known; 1: rain unknown, intensity unknown; 2: night unknown
    target = torch.tensor([[1.0, 0.0, 0.6], [-1.0, 1.0, -1.0], [0.0, -1.0, 0.0]])
    lg, t = logits.numpy().astype(np.float64), target.numpy().astype(np.float64)
    rain = _np_bce(lg[[0, 2], 0], t[[0, 2], 0]).mean()
    night = _np_bce(lg[[0, 1], 1], t[[0, 1], 1]).mean()
    sig = 1.0 / (1.0 + np.exp(-lg[[0, 2], 2]))
    inten = ((sig - t[[0, 2], 2]) ** 2).mean()
    got = float(condition_loss(logits, target, intensity_weight=2.0))
    np.testing.assert_allclose(got, rain + night + 2.0 * inten, rtol=1e-5)


def test_loss_with_nothing_known_is_zero_not_nan():
    logits = torch.randn(4, 3, requires_grad=True)
    loss = condition_loss(logits, torch.full((4, 3), -1.0), intensity_weight=1.0)
    loss.backward()
    assert float(loss.detach()) == 0.0 and torch.isfinite(logits.grad).all()
