"""The pairing of the DSANet step, read off mock networks whose codes are pixel values."""

import torch

from training.dsanet.step import discriminator_losses, forward_dsanet

from .dsanet_helpers import LookupEncoder, LookupGenerator, const_images


def _codes(img):
    return [(round(float(img[i, 0, 0, 0]), 4), round(float(img[i, 1, 0, 0]), 4)) for i in range(len(img))]


RAINY = const_images([(0.1, 0.7), (0.2, 0.8), (0.3, 0.9)])   # (background, rain)
CLEAN = const_images([(0.15, 0.0), (0.25, 0.01), (0.35, 0.02)])


def test_ours_swaps_rain_between_pairs_and_back():
    out = forward_dsanet(LookupEncoder(), LookupGenerator(), RAINY, CLEAN, shift=1)
    # x̂'_12 = G(b'_1 ⊕ r'_2): background of i, rain of i+1 (cyclic)
    assert _codes(out["swapped"]) == [(0.1, 0.8), (0.2, 0.9), (0.3, 0.7)]
    # x̂_1 = G(b'_1 ⊕ r_1): rainy background with the clean twin's rain code
    assert _codes(out["derained"]) == [(0.1, 0.0), (0.2, 0.01), (0.3, 0.02)]
    assert _codes(out["recon_clean"]) == _codes(CLEAN)
    # the pair's own rain on its clean twin: clean background, rainy twin's rain code
    assert _codes(out["transferred"]) == [(0.15, 0.7), (0.25, 0.8), (0.35, 0.9)]
    # round 2 gives every background its own rain back
    assert _codes(out["cycled"]) == _codes(RAINY)
    assert torch.allclose(out["b_swapped"], out["b_rainy"])


def test_zero_code_derains_and_self_reconstructs_with_zero():
    out = forward_dsanet(LookupEncoder(), LookupGenerator(), RAINY, CLEAN, shift=1, derain_code="zero")
    assert _codes(out["derained"]) == [(0.1, 0.0), (0.2, 0.0), (0.3, 0.0)]
    assert _codes(out["recon_clean"]) == [(0.15, 0.0), (0.25, 0.0), (0.35, 0.0)]
    assert torch.allclose(out["r_clean"], CLEAN[:, 1:2, ::4, ::4])   # the code itself is E's


def test_transfer_branch_skipped_when_off():
    out = forward_dsanet(LookupEncoder(), LookupGenerator(), RAINY, CLEAN, shift=1, transfer=False)
    assert "transferred" not in out
    assert _codes(out["swapped"]) == [(0.1, 0.8), (0.2, 0.9), (0.3, 0.7)]
    assert _codes(out["recon_clean"]) == _codes(CLEAN)


def test_input1_never_exchanges_rain():
    out = forward_dsanet(LookupEncoder(), LookupGenerator(), RAINY, CLEAN, shift=0)
    assert _codes(out["swapped"]) == _codes(RAINY)
    assert _codes(out["cycled"]) == _codes(RAINY)


class MeanD(torch.nn.Module):
    def forward(self, x):
        return x.mean(dim=(1, 2, 3), keepdim=True)


def test_discriminator_sees_right_reals_and_detached_fakes():
    enc = LookupEncoder()
    rainy = RAINY.clone().requires_grad_(True)
    out = forward_dsanet(enc, LookupGenerator(), rainy, CLEAN, shift=1)
    d = discriminator_losses(MeanD(), MeanD(), out, rainy.detach(), CLEAN, gan="lsgan")
    real_b, fake_b = CLEAN.mean(dim=(1, 2, 3)), out["derained"].detach().mean(dim=(1, 2, 3))
    expected_b = ((real_b - 1) ** 2).mean() + (fake_b ** 2).mean()
    assert torch.allclose(d["d_b"], expected_b)
    assert not d["total"].requires_grad   # fakes detached, MeanD has no parameters


def test_cross_branch_is_the_partner_rain_on_the_clean_background():
    out = forward_dsanet(LookupEncoder(), LookupGenerator(), RAINY, CLEAN, shift=1, cross=True)
    # G(b_1 ⊕ r'_2): clean background of i, rain of rainy i+1 (what rainify does at inference)
    assert _codes(out["rainified"]) == [(0.15, 0.8), (0.25, 0.9), (0.35, 0.7)]
    assert _codes(out["transferred"]) == [(0.15, 0.7), (0.25, 0.8), (0.35, 0.9)]   # unchanged
    for i, j in [(0, 1), (1, 2), (2, 0)]:   # pair i's partner is pair i+1 (cyclic)
        assert torch.allclose(out["partner_layer"][i], RAINY[j] - CLEAN[j])
    assert "rainified" not in forward_dsanet(LookupEncoder(), LookupGenerator(), RAINY, CLEAN, shift=1)


def test_rain_layer_discriminator_judges_layers():
    # D_L sees (x − clean + 1) / 2: the real layer of pair i is (rainy_i − clean_i), the fake
    # one (rainified_i − clean_i); MeanD reads their means, checked against the LSGAN formula.
    out = forward_dsanet(LookupEncoder(), LookupGenerator(), RAINY, CLEAN, shift=1, cross=True)
    d = discriminator_losses(MeanD(), MeanD(), out, RAINY, CLEAN, gan="lsgan", disc_l=MeanD())
    real = torch.tensor([((0.1 - 0.15) + (0.7 - 0.0)) / 3, ((0.2 - 0.25) + (0.8 - 0.01)) / 3,
                         ((0.3 - 0.35) + (0.9 - 0.02)) / 3]) * 0.5 + 0.5
    fake = torch.tensor([(0.8 - 0.0) / 3, (0.9 - 0.01) / 3, (0.7 - 0.02) / 3]) * 0.5 + 0.5
    assert torch.allclose(d["d_l"], ((real - 1) ** 2).mean() + (fake ** 2).mean(), atol=1e-6)
    assert torch.allclose(d["total"], d["d_b"] + d["d_r"] + d["d_l"])
    assert "d_l" not in discriminator_losses(MeanD(), MeanD(), out, RAINY, CLEAN, gan="lsgan")
