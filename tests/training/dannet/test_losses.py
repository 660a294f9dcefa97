"""DANNet's losses and re-weighting against hand-computed values and independent references."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from training.dannet import losses
from training.dannet.reweight import class_weights_from_shares


def test_tv_loss_hand_value():
    residual = torch.tensor([[[[0.0, 1.0], [2.0, 4.0]]]])
    # vertical differences 2, 3 -> mean square 6.5; horizontal 1, 2 -> 2.5
    assert losses.tv_loss(residual).item() == pytest.approx(9.0)


def test_exposure_loss_hand_value():
    gray = torch.tensor([[0.2, 0.4], [0.6, 0.8]])
    relit = gray.expand(1, 3, 2, 2)
    assert losses.exposure_loss(relit, 0.3, patch=2).item() == pytest.approx(0.2)   # |0.5 - 0.3|
    assert losses.exposure_loss(relit, 0.3, patch=1).item() == pytest.approx(0.25)  # (.1+.1+.3+.5)/4
    # a patch larger than the image shrinks to it instead of failing
    assert losses.exposure_loss(relit, 0.3, patch=32).item() == pytest.approx(0.2)


def test_ssim_of_constant_images_hand_value():
    a, b = 0.2, 0.6
    x = torch.full((1, 3, 4, 4), a, dtype=torch.float64)
    y = torch.full((1, 3, 4, 4), b, dtype=torch.float64)
    c1 = 0.01 ** 2
    expected = (2 * a * b + c1) / (a * a + b * b + c1)          # variances are 0: contrast term is 1
    assert losses.ssim(x, y).mean().item() == pytest.approx(expected, rel=1e-5)
    assert losses.ssim_loss(x, y).item() == pytest.approx((1 - expected) / 2, rel=1e-5)
    assert losses.ssim_loss(x, x).item() == pytest.approx(0.0, abs=1e-6)


def test_ssim_matches_skimage_box_window_inside():
    rng = np.random.default_rng(0)
    x = rng.random((12, 16)).astype(np.float64)
    y = np.clip(x + rng.normal(0, 0.1, x.shape), 0, 1)
    _, full = structural_similarity(x, y, win_size=3, data_range=1.0, use_sample_covariance=False,
                                    gaussian_weights=False, full=True)
    ours = losses.ssim(torch.tensor(x)[None, None], torch.tensor(y)[None, None])[0, 0].numpy()
    # borders differ only by the padding convention (scipy's reflect repeats the edge pixel)
    np.testing.assert_allclose(ours[1:-1, 1:-1], full[1:-1, 1:-1], atol=1e-6)


def test_light_loss_weights_its_terms():
    torch.manual_seed(0)
    image = torch.rand(2, 3, 8, 8)
    relit = image + 0.1 * torch.rand(2, 3, 8, 8)
    t = losses.light_loss(image, relit, 0.25, tv=10.0, exposure=1.0, structure=1.0, patch=4)
    assert t["light"].item() == pytest.approx(10 * t["tv"].item() + t["exposure"].item() + t["ssim"].item())


def test_reweighting_formula_hand_value():
    shares = [0.5, 0.3, 0.2]
    raw = [-math.log(a) for a in shares]                     # 0.6931, 1.2040, 1.6094
    mean = sum(raw) / 3
    std = math.sqrt(sum((r - mean) ** 2 for r in raw) / 2)  # sample std (n - 1)
    expected = [(r - mean) / std * 0.05 + 1.0 for r in raw]
    assert class_weights_from_shares(shares) == pytest.approx(expected, abs=1e-12)
    assert expected == pytest.approx([0.948196, 1.003824, 1.047980], abs=1e-5)   # by hand
    # shares are normalised: counts work as well
    assert class_weights_from_shares([50, 30, 20]) == pytest.approx(expected)


def test_reweighting_floors_absent_classes_and_refuses_bad_shares():
    w = class_weights_from_shares([0.7, 0.3, 0.0], min_share=1e-4)
    assert all(math.isfinite(v) and v > 0 for v in w) and w[2] == max(w)
    with pytest.raises(ValueError, match="shares"):
        class_weights_from_shares([0.5, -0.1])


def _logits(probs: list[list[float]]) -> torch.Tensor:
    """(W, K) probabilities of a 1-row image -> logits (1, K, 1, W) whose softmax is exactly them."""
    return torch.tensor(probs, dtype=torch.float64).log().T[None, :, None, :]


def test_static_loss_hand_value_with_3x3_tolerance():
    # classes 0, 1 static, 2 dynamic; one row of 3 pixels
    logits = _logits([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3], [0.3, 0.3, 0.4]])
    pseudo = torch.tensor([[[0, 1, 255]]])
    loss = losses.static_loss(logits, pseudo, [0, 1], ignore_index=255, gamma=1.0)
    # pixel 0: classes {0, 1} in its 3x3 neighbourhood -> p = max(0.2, 0.5) = 0.5
    # pixel 1: classes {0, 1} -> p = max(0.6, 0.1) = 0.6; pixel 2 is ignored
    expected = (-(1 - 0.5) * math.log(0.5) - (1 - 0.6) * math.log(0.6)) / 2
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_static_loss_tolerates_one_pixel_shift_only():
    h, w = 12, 12
    label = np.zeros((h, w), np.int64)
    label[:, 6:] = 1                                       # two static classes, a vertical edge
    probs = np.where(label[None] == np.arange(2)[:, None, None], 0.9, 0.1)   # confident, correct
    logits = torch.tensor(np.log(probs))[None]
    aligned = losses.static_loss(logits, torch.tensor(label)[None], [0, 1], 255)
    for shift, tolerated in ((1, True), (2, False)):
        moved = np.roll(label, shift, axis=1)
        moved[:, :shift] = 0
        loss = losses.static_loss(logits, torch.tensor(moved)[None], [0, 1], 255)
        assert (loss.item() == pytest.approx(aligned.item())) is tolerated


def test_reweighted_pseudo_label_uses_weights_and_drops_dynamic_classes():
    day = _logits([[0.48, 0.52, 0.0 + 1e-9], [0.1, 0.1, 0.8]])
    w = torch.tensor([1.1, 0.95, 1.0], dtype=torch.float64)
    pseudo = losses.reweighted_pseudo_label(day, w, [0, 1], ignore_index=255)
    # pixel 0: 0.48 * 1.1 = 0.528 > 0.52 * 0.95 = 0.494 -> class 0 (plain argmax says 1)
    # pixel 1: class 2 wins but is dynamic -> ignore
    assert pseudo.tolist() == [[[0, 255]]]


def test_static_loss_without_static_pixels_is_zero_and_differentiable():
    logits = torch.zeros(1, 3, 2, 2, requires_grad=True)
    loss = losses.static_loss(logits, torch.full((1, 2, 2), 255), [0, 1], 255)
    loss.backward()
    assert loss.item() == 0.0
