"""SPADE normalisation against a hand-computed case; generator and discriminator shapes."""

from __future__ import annotations

import math

import pytest
import torch

from training.models.spade import SPADE, MultiscalePatchDiscriminator, SPADEGenerator


def _set(conv: torch.nn.Conv2d, weight: float, bias: float) -> None:
    with torch.no_grad():
        conv.weight.fill_(weight)
        conv.bias.fill_(bias)


def test_spade_matches_a_hand_computed_case():
    layer = SPADE(channels=1, label_channels=1, hidden=1, kernel=1)
    _set(layer.shared[0], 2.0, -0.5)     # h = relu(2 l - 0.5)
    _set(layer.gamma, 0.5, 0.1)          # gamma = 0.5 h + 0.1
    _set(layer.beta, -1.0, 0.2)          # beta = -h + 0.2
    x = torch.tensor([[[[1.0, 2.0], [3.0, 6.0]]]])
    label = torch.tensor([[[[1.0, 0.0], [0.0, 1.0]]]])
    # By hand: mean 3, biased variance (4 + 1 + 0 + 9) / 4 = 3.5; h = 1.5 on the diagonal, 0 off it.
    sd = math.sqrt(3.5 + 1e-5)
    gamma = [[0.85, 0.1], [0.1, 0.85]]
    beta = [[-1.3, 0.2], [0.2, -1.3]]
    xs = [[1.0, 2.0], [3.0, 6.0]]
    expected = [[(xs[i][j] - 3.0) / sd * (1 + gamma[i][j]) + beta[i][j] for j in range(2)] for i in range(2)]
    out = layer(x, label)
    assert out.shape == (1, 1, 2, 2)
    assert torch.allclose(out[0, 0], torch.tensor(expected), atol=1e-5)


def test_spade_resizes_the_label_map_nearest():
    layer = SPADE(channels=1, label_channels=1, hidden=1, kernel=1)
    _set(layer.shared[0], 1.0, 0.0)
    _set(layer.gamma, 0.0, 0.0)
    _set(layer.beta, 1.0, 0.0)           # out = norm(x) + label (resized)
    x = torch.zeros(1, 1, 4, 4)
    label = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    expected = label.repeat_interleave(2, -1).repeat_interleave(2, -2)
    assert torch.allclose(layer(x, label), expected)


def test_generator_and_discriminator_shapes():
    gen = SPADEGenerator(label_channels=5, out_channels=3, base_channels=4, num_up=3, hidden=8)
    label = torch.softmax(torch.randn(2, 5, 16, 32), 1)
    image = gen(label)
    assert image.shape == (2, 3, 16, 32) and image.min() >= 0 and image.max() <= 1
    logits = SPADEGenerator(6, 5, 4, 3, 8, output="logits")(label.new_zeros(2, 6, 16, 32))
    assert logits.shape == (2, 5, 16, 32)
    disc = MultiscalePatchDiscriminator(label_channels=5, base_channels=4, num_layers=2, num_d=2)
    outs = disc(label, image)
    assert len(outs) == 2 and all(len(s) == 3 and s[-1].shape[1] == 1 for s in outs)
    assert outs[1][-1].shape[-1] < outs[0][-1].shape[-1]     # second scale sees half the image


def test_generator_refuses_sizes_it_cannot_upsample_to():
    gen = SPADEGenerator(label_channels=2, base_channels=4, num_up=3, hidden=4)
    with pytest.raises(ValueError, match="multiples of 8"):
        gen(torch.zeros(1, 2, 12, 16))
