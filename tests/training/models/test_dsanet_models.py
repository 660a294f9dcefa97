"""DSANet networks: the shape/range contract of COMMON.md and construction by kind."""

import pytest
import torch

from training.models import build_model
from training.models.discriminator import PatchDiscriminator
from training.models.dsanet import Disentangler, Synthesizer, join_codes, split_codes


def test_encoder_generator_contract():
    E = Disentangler(code_channels=8, base_channels=4, num_res_blocks=1)
    G = Synthesizer(code_channels=8, base_channels=4, num_res_blocks=1)
    x = torch.rand(2, 3, 32, 48)
    f = E(x)
    assert f.shape == (2, 8, 8, 12)
    b, r = split_codes(f)
    assert b.shape == r.shape == (2, 4, 8, 12)
    assert torch.equal(b, f[:, :4]) and torch.equal(r, f[:, 4:])
    assert torch.equal(join_codes(b, r), f)
    y = G(f).detach()
    assert y.shape == x.shape
    assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0


def test_odd_code_channels_rejected():
    with pytest.raises(ValueError, match="even"):
        Disentangler(code_channels=7)
    with pytest.raises(ValueError, match="even"):
        Synthesizer(code_channels=0)


@pytest.mark.parametrize("layers,size,expected", [(2, 32, 6), (3, 64, 6), (3, 128, 14)])
def test_patch_discriminator_patch_grid(layers, size, expected):
    # pix2pix arithmetic: stride-2 convs (k4 p1) halve, the two stride-1 k4 p1 convs remove 1 each.
    D = PatchDiscriminator(base_channels=4, num_layers=layers)
    assert D(torch.rand(1, 3, size, size)).shape == (1, 1, expected, expected)


def test_build_by_kind_matches_direct_construction():
    kw = {"code_channels": 8, "base_channels": 4, "num_res_blocks": 1}
    for kind, cls in [("dsanet_encoder", Disentangler), ("dsanet_generator", Synthesizer)]:
        m = build_model(kind, kw)
        assert isinstance(m, cls)
        assert sum(p.numel() for p in m.parameters()) == sum(p.numel() for p in cls(**kw).parameters())
    assert isinstance(build_model("patch_discriminator", {"base_channels": 4, "num_layers": 2}),
                      PatchDiscriminator)


@pytest.mark.parametrize("norm,shortcut", [("none", True), ("instance", False)])
def test_variants_keep_the_contract(norm, shortcut):
    kw = {"code_channels": 6, "base_channels": 4, "num_res_blocks": 1, "norm": norm, "shortcut": shortcut}
    E, G = Disentangler(**kw), Synthesizer(**kw)
    f = E(torch.rand(1, 3, 16, 24))
    assert f.shape == (1, 6, 4, 6)
    y = G(f).detach()
    assert y.shape == (1, 3, 16, 24) and float(y.min()) >= 0 and float(y.max()) <= 1
    assert (E.skip is None) == (not shortcut)


def test_shortcut_is_the_space_to_depth_projection():
    # With the conv trunk silenced, E is exactly a 1x1 projection of each 4x4x3 pixel block:
    # check it against a numpy reshape of the image into blocks.
    import numpy as np

    E = Disentangler(code_channels=4, base_channels=4, num_res_blocks=1)
    torch.nn.init.zeros_(E.head.weight)
    torch.nn.init.zeros_(E.head.bias)
    x = torch.rand(1, 3, 8, 8)
    f = E(x).detach().numpy()
    blocks = (x.numpy() * 2 - 1).reshape(3, 2, 4, 2, 4).transpose(0, 2, 4, 1, 3).reshape(48, 2, 2)
    w, b = E.skip.weight.detach().numpy()[:, :, 0, 0], E.skip.bias.detach().numpy()
    expected = np.einsum("ck,kyx->cyx", w, blocks) + b[:, None, None]
    assert np.allclose(f[0], expected, atol=1e-5)


def test_stride_two_codes_are_half_resolution():
    kw = {"code_channels": 8, "base_channels": 4, "num_res_blocks": 1, "downsample": 2}
    E, G = Disentangler(**kw), Synthesizer(**kw)
    f = E(torch.rand(1, 3, 18, 26))
    assert f.shape == (1, 8, 9, 13) and E.downsample == G.downsample == 2
    assert G(f).shape == (1, 3, 18, 26)
    assert E.skip.in_channels == 12 and G.skip.out_channels == 12  # 2x2x3 pixel blocks


def test_default_stride_keeps_the_checkpoint_layout():
    # Checkpoints written before `downsample` existed must still load: same keys and shapes.
    kw = {"code_channels": 8, "base_channels": 4, "num_res_blocks": 1}
    for cls in (Disentangler, Synthesizer):
        shapes = {k: tuple(v.shape) for k, v in cls(**kw).state_dict().items()}
        assert shapes == {k: tuple(v.shape) for k, v in cls(**kw, downsample=4).state_dict().items()}
    assert tuple(Disentangler(**kw).state_dict()["stem.6.weight"].shape) == (16, 8, 4, 4)
    assert tuple(Synthesizer(**kw).state_dict()["up.5.weight"].shape) == (4, 8, 3, 3)


@pytest.mark.parametrize("stride", [1, 3, 8])
def test_unsupported_stride_rejected(stride):
    with pytest.raises(ValueError, match="downsample"):
        Disentangler(code_channels=8, downsample=stride)
