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


@pytest.mark.parametrize("upsample", ["nearest", "bilinear", "pixelshuffle"])
@pytest.mark.parametrize("shortcut_upsample", ["shuffle", "bilinear", "features"])
def test_upsample_options_keep_the_contract(upsample, shortcut_upsample):
    kw = {"code_channels": 8, "base_channels": 4, "num_res_blocks": 1, "downsample": 2}
    G = Synthesizer(**kw, upsample=upsample, shortcut_upsample=shortcut_upsample)
    f = Disentangler(**kw)(torch.rand(2, 3, 16, 24)).detach().requires_grad_(True)
    y = G(f)
    assert y.shape == (2, 3, 16, 24) and float(y.detach().min()) >= 0 and float(y.detach().max()) <= 1
    y.sum().backward()   # both paths reach the code: the trunk and the shortcut
    assert G.skip.weight.grad is not None and float(G.skip.weight.grad.abs().sum()) > 0
    assert float(G.out.weight.grad.abs().sum()) > 0
    expected_skip = {"shuffle": 3 * 4, "bilinear": 3, "features": 4 * 4}[shortcut_upsample]
    assert G.skip.out_channels == expected_skip


def test_bilinear_shortcut_is_the_upsampled_projection():
    # Trunk silenced (out conv zero): G(f) = sigmoid(bilinear x2 of a 1x1 projection of f);
    # reference: the interpolation written out for align_corners=False (weights 3/4, 1/4,
    # edge pixels repeated), in numpy.
    import numpy as np

    G = Synthesizer(code_channels=4, base_channels=4, num_res_blocks=1, downsample=2,
                    shortcut_upsample="bilinear")
    torch.nn.init.zeros_(G.out.weight)
    torch.nn.init.zeros_(G.out.bias)
    f = torch.rand(1, 4, 3, 5)
    y = G(f).detach().numpy()[0]
    w, b = G.skip.weight.detach().numpy()[:, :, 0, 0], G.skip.bias.detach().numpy()
    low = np.einsum("oc,cyx->oyx", w, f.numpy()[0]) + b[:, None, None]   # (3, 3, 5)

    def up(a, axis):
        a = np.moveaxis(a, axis, -1)
        p = np.concatenate([a[..., :1], a, a[..., -1:]], axis=-1)       # edge-repeated
        even = 0.25 * p[..., :-2] + 0.75 * p[..., 1:-1]
        odd = 0.75 * p[..., 1:-1] + 0.25 * p[..., 2:]
        out = np.stack([even, odd], axis=-1).reshape(*a.shape[:-1], -1)
        return np.moveaxis(out, -1, axis)

    expected = 1 / (1 + np.exp(-up(up(low, 1), 2)))
    assert np.allclose(y, expected, atol=1e-5)


def test_pixelshuffle_stage_starts_as_nearest_upsample():
    # ICNR: at init the 4 sub-pixels of each output pixel block are equal, i.e. the stage is
    # nearest upsampling of one 3x3 conv (no checkerboard at step 0). Reference: that conv
    # (one kernel of every group of 4) followed by a numpy repeat.
    import numpy as np

    G = Synthesizer(code_channels=8, base_channels=4, num_res_blocks=1, downsample=2,
                    norm="none", upsample="pixelshuffle")
    conv = G.up[0]
    x = torch.rand(1, conv.in_channels, 5, 6)
    y = G.up[:2](x).detach().numpy()[0]                   # conv + shuffle, before the ReLU
    pad = torch.nn.functional.pad(x, (1, 1, 1, 1), mode="reflect")
    low = torch.nn.functional.conv2d(pad, conv.weight[::4], conv.bias[::4]).detach().numpy()[0]
    assert np.allclose(y, low.repeat(2, axis=1).repeat(2, axis=2), atol=1e-5)


def test_unknown_upsample_modes_rejected():
    with pytest.raises(ValueError, match="upsample"):
        Synthesizer(code_channels=8, upsample="bicubic")
    with pytest.raises(ValueError, match="shortcut_upsample"):
        Synthesizer(code_channels=8, shortcut_upsample="nearest")
