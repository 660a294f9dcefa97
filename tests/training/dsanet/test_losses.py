"""GAN losses against numpy formulas; DSANet generator terms against hand-computed values."""

import numpy as np
import pytest
import torch

from training.dsanet.step import forward_dsanet
from training.losses.dsanet import LossConfig, generator_losses
from training.losses.gan import discriminator_loss, generator_adv_loss

from .dsanet_helpers import LookupEncoder, LookupGenerator, const_images

REAL = np.array([2.0, -0.5, 0.3, 1.5])
FAKE = np.array([-1.0, 0.7, -2.0, 0.1])


def _np_log_sigmoid(x):
    return -np.log1p(np.exp(-x))


@pytest.mark.parametrize("kind,d_expected,g_expected", [
    ("bce", -_np_log_sigmoid(REAL).mean() - np.log(1 - 1 / (1 + np.exp(-FAKE))).mean(),
     -_np_log_sigmoid(FAKE).mean()),
    ("lsgan", ((REAL - 1) ** 2).mean() + (FAKE ** 2).mean(), ((FAKE - 1) ** 2).mean()),
    ("hinge", np.maximum(0, 1 - REAL).mean() + np.maximum(0, 1 + FAKE).mean(), -FAKE.mean()),
])
def test_gan_losses_match_formulas(kind, d_expected, g_expected):
    real, fake = torch.tensor(REAL).view(1, 1, 2, 2), torch.tensor(FAKE).view(1, 1, 2, 2)
    assert float(discriminator_loss(kind, real, fake)) == pytest.approx(d_expected, rel=1e-6)
    assert float(generator_adv_loss(kind, fake)) == pytest.approx(g_expected, rel=1e-6)


def test_unknown_gan_loss():
    with pytest.raises(ValueError, match="unknown GAN loss"):
        generator_adv_loss("wgan", torch.zeros(1))


class ConstD(torch.nn.Module):
    def forward(self, x):
        return torch.zeros(x.shape[0], 1, 2, 2)   # logit 0 everywhere: BCE G term = log 2


def test_generator_terms_hand_computed():
    # Mock E/G make every code readable: pair 1 (b'=0.2, r'=0.8 / b=0.3, r=0.1),
    # pair 2 (b'=0.6, r'=0.4 / b=0.5, r=0.0).
    rainy = const_images([(0.2, 0.8), (0.6, 0.4)])
    clean = const_images([(0.3, 0.1), (0.5, 0.0)])
    out = forward_dsanet(LookupEncoder(), LookupGenerator(), rainy, clean, shift=1)
    w = LossConfig(gan="bce", feat=1, bg=1, adv=1, rec=1, norain=1, transfer=1)
    terms = generator_losses(out, rainy, clean, ConstD(), ConstD(), cfg=w)
    # feature: ‖b'-b‖² = 0.01; round 2: the swapped image re-encodes to b' exactly (0), the
    # derained one to b' as well, so ‖b̂-b‖² adds another 0.01
    assert float(terms["feat"]) == pytest.approx(0.02, abs=1e-6)
    # background L1: derained = (b', r_clean, 0) vs clean (b, r, 0) -> |b'-b| on 1 of 3 channels
    assert float(terms["bg"]) == pytest.approx(0.1 / 3, abs=1e-6)
    assert float(terms["rec"]) == pytest.approx(0.0, abs=1e-6)
    assert float(terms["norain"]) == pytest.approx((0.1 ** 2 + 0.0) / 2, abs=1e-6)
    # transfer: G(b ⊕ r') = (b, r') vs rainy (b', r') -> |b-b'| = 0.1 on 1 of 3 channels
    assert float(terms["transfer"]) == pytest.approx(0.1 / 3, abs=1e-6)
    assert float(terms["adv_b"]) == pytest.approx(np.log(2), rel=1e-6)
    expected = sum(float(terms[k]) for k in ("feat", "bg", "rec", "norain", "transfer", "adv_b", "adv_r"))
    assert float(terms["total"]) == pytest.approx(expected, rel=1e-6)


class LayerD(torch.nn.Module):
    """Logit = mean of the input minus 0.5: the mean of the rain layer itself for D_L."""

    def forward(self, x):
        return x.mean(dim=(1, 2, 3), keepdim=True) - 0.5


def test_rain_layer_adversarial_term():
    rainy = const_images([(0.2, 0.8), (0.6, 0.4)])
    clean = const_images([(0.3, 0.1), (0.5, 0.0)])
    out = forward_dsanet(LookupEncoder(), LookupGenerator(), rainy, clean, shift=1, cross=True)
    w = LossConfig(gan="lsgan", feat=0, bg=0, adv=0, rec=0, norain=0, transfer=0, adv_layer=2.0)
    terms = generator_losses(out, rainy, clean, ConstD(), ConstD(), cfg=w, disc_l=LayerD())
    # rainified = G(b_i ⊕ r'_{i+1}): (0.3, 0.4) and (0.5, 0.8); minus clean: (0, 0.3), (0, 0.8);
    # D_L logit = mean layer / 2 over 3 channels; LSGAN G term = mean (logit − 1)²
    logits = np.array([0.3 / 3, 0.8 / 3]) / 2
    assert float(terms["adv_l"]) == pytest.approx(((logits - 1) ** 2).mean(), rel=1e-6)
    assert float(terms["total"]) == pytest.approx(2.0 * ((logits - 1) ** 2).mean(), rel=1e-6)
    assert "adv_l" not in generator_losses(out, rainy, clean, ConstD(), ConstD(), cfg=w)


def test_rain_layer_term_scores_what_the_rain_code_adds():
    # derain_code zero: x̃_i = G(b_i ⊕ 0) = (b, 0, 0) and G(b_i ⊕ r'_i) = (b, r', 0), so the
    # predicted layer is (0, r', 0); the real one is x'_i − x_i = (b' − b, r' − r, 0).
    # Pair 1: |0 − (−0.1)| + |0.8 − 0.7| = 0.2; pair 2: |0 − 0.1| + |0.4 − 0.4| = 0.1; over 3 channels.
    rainy = const_images([(0.2, 0.8), (0.6, 0.4)])
    clean = const_images([(0.3, 0.1), (0.5, 0.0)])
    out = forward_dsanet(LookupEncoder(), LookupGenerator(), rainy, clean, shift=1, derain_code="zero")
    w = LossConfig(gan="bce", feat=0, bg=0, adv=0, rec=0, norain=0, transfer=0, layer=3.0)
    terms = generator_losses(out, rainy, clean, ConstD(), ConstD(), cfg=w)
    assert float(terms["layer"]) == pytest.approx((0.2 / 3 + 0.1 / 3) / 2, abs=1e-6)
    assert float(terms["total"]) == pytest.approx(3.0 * 0.05, abs=1e-6)
    assert "layer" not in generator_losses(out, rainy, clean, ConstD(), ConstD(), cfg=LossConfig())


def test_cross_term_targets_the_partner_layer_added_to_the_clean_image():
    # rainified_i = G(b_i ⊕ r'_{i+1}) = (b_i, r'_{i+1}, 0); target = x_i + x'_{i+1} − x_{i+1}.
    # Pair 1: (0.3, 0.4) vs (0.3 + 0.6 − 0.5, 0.1 + 0.4 − 0.0) = (0.4, 0.5): 0.2 over 3 channels;
    # pair 2: (0.5, 0.8) vs (0.5 + 0.2 − 0.3, 0.0 + 0.8 − 0.1) = (0.4, 0.7): 0.2 over 3 channels.
    rainy = const_images([(0.2, 0.8), (0.6, 0.4)])
    clean = const_images([(0.3, 0.1), (0.5, 0.0)])
    out = forward_dsanet(LookupEncoder(), LookupGenerator(), rainy, clean, shift=1, cross=True)
    w = LossConfig(gan="bce", feat=0, bg=0, adv=0, rec=0, norain=0, transfer=0, cross=2.0)
    terms = generator_losses(out, rainy, clean, ConstD(), ConstD(), cfg=w)
    assert float(terms["cross"]) == pytest.approx(0.2 / 3, abs=1e-6)
    assert float(terms["total"]) == pytest.approx(2.0 * 0.2 / 3, abs=1e-6)
    # the target is clipped to [0, 1]: pair 1 (clean 0.9) takes pair 2's layer of +0.6, which
    # stops at 1: rainified_1 = (0.9, 0.6) vs (1.0, 1.0): 0.5; rainified_2 = (0.0, 0.95) vs
    # (0.05, 0.05): 0.95; unclipped the first would be 1.5.
    rainy = const_images([(0.95, 0.95), (0.6, 0.6)])
    clean = const_images([(0.9, 0.9), (0.0, 0.0)])
    out = forward_dsanet(LookupEncoder(), LookupGenerator(), rainy, clean, shift=1, cross=True)
    terms = generator_losses(out, rainy, clean, ConstD(), ConstD(), cfg=w)
    assert float(terms["cross"]) == pytest.approx((0.5 + 0.95) / 6, abs=1e-6)
