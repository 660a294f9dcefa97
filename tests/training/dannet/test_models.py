"""DANNet's networks: the output-space discriminator's layout, the relight residual, and the
deployable module's re-weighted scores against a composition written out here."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from training.models import build_model
from training.models.erf_pspnet import ERFPSPNet
from training.models.relight import RelightNet


def test_output_discriminator_layout_follows_the_spec():
    d = build_model("output_discriminator", {"num_classes": 19, "strides": [2, 2, 1, 1, 1]})
    convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 128, 256, 256, 1]
    assert [c.in_channels for c in convs] == [19, 64, 128, 256, 256]
    assert all(c.kernel_size == (4, 4) for c in convs)
    assert [c.stride[0] for c in convs] == [2, 2, 1, 1, 1]
    assert sum(isinstance(m, nn.LeakyReLU) for m in d.modules()) == 4
    out = d(torch.softmax(torch.randn(2, 19, 64, 128), 1))
    # k4 p1: stride 2 halves, stride 1 shrinks by one: 64 -> 32 -> 16 -> 15 -> 14 -> 13
    assert out.shape == (2, 1, 13, 29)
    with pytest.raises(ValueError, match="equal"):
        build_model("output_discriminator", {"num_classes": 3, "channels": [8, 1], "strides": [2]})


def test_relight_starts_as_identity_and_keeps_size():
    net = RelightNet(base_channels=4, num_blocks=1)
    x = torch.rand(2, 3, 30, 62)      # odd quarter sizes too
    assert torch.equal(net(x), x)
    with torch.no_grad():
        net.out.bias.fill_(0.1)
    assert torch.allclose(net(x) - x, torch.full_like(x, torch.tanh(torch.tensor(0.1)).item()))


def test_dannet_segmenter_scores_are_reweighted_log_probabilities():
    torch.manual_seed(0)
    weights = [0.9, 1.0, 1.2]
    seg_kwargs = {"num_classes": 3, "channels": [4, 8, 16], "head_channels": 8, "bins": [1, 2]}
    net = build_model("dannet_segmenter", {"segmenter_kind": "erf_pspnet", "segmenter_kwargs": seg_kwargs,
                                           "relight_kwargs": {"base_channels": 4, "num_blocks": 1},
                                           "class_weights": weights}).eval()
    with torch.no_grad():
        net.relight.out.bias.fill_(0.05)               # a relight that is not the identity
    image = torch.rand(1, 3, 32, 64)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    # independent composition: relight on [0, 1], normalise, segment, softmax * w
    relight, segmenter = RelightNet(4, 1), ERFPSPNet(**seg_kwargs)
    relight.load_state_dict(net.relight.state_dict())
    segmenter.load_state_dict(net.segmenter.state_dict())
    with torch.no_grad():
        probs = torch.softmax(segmenter.eval()((relight(image) - mean) / std), 1)
        expected = probs * torch.tensor(weights).view(1, 3, 1, 1)
        scores = net((image - mean) / std)
    torch.testing.assert_close(scores.exp(), expected, atol=1e-5, rtol=1e-4)
    assert torch.equal(scores.argmax(1), expected.argmax(1))
    with pytest.raises(ValueError, match="positive"):
        build_model("dannet_segmenter", {"segmenter_kind": "erf_pspnet", "segmenter_kwargs": seg_kwargs,
                                         "relight_kwargs": None, "class_weights": [1.0, 0.0, 1.0]})


def test_night_grid_rows_are_night_relit_prediction():
    from rain_seg_ros.labels import CITYSCAPES_PALETTE
    from training.dannet.logs import night_grid

    seg_kwargs = {"num_classes": 19, "channels": [4, 8, 16], "head_channels": 8, "bins": [1, 2]}
    net = build_model("dannet_segmenter", {"segmenter_kind": "erf_pspnet", "segmenter_kwargs": seg_kwargs,
                                           "relight_kwargs": {"base_channels": 4, "num_blocks": 1},
                                           "class_weights": [1.0] * 19}).eval()
    night = torch.rand(5, 3, 32, 64) * 0.2
    logits = torch.zeros(5, 19, 32, 64)
    logits[:, 13] = 1.0                                            # every pixel "car"
    grid = night_grid(net, night, night + 0.1, logits, 19)
    assert grid.shape == (12, 3, 32, 64)                           # 4 columns x 3 rows
    torch.testing.assert_close(grid[:4], night[:4])
    torch.testing.assert_close(grid[4:8], night[:4] + 0.1)
    car = torch.tensor(CITYSCAPES_PALETTE[13], dtype=torch.float32) / 255.0
    torch.testing.assert_close(grid[8:, :, 0, 0], car.expand(4, 3))
