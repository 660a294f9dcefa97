"""export.graphs / export.final_upsample: where the confidence is computed, checked in eager PyTorch
against numpy (the exported files: test_export_onnx.py, test_bench_models.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from export.final_upsample import Upsample, probe_final_upsample
from export.graphs import SegmentationGraph, segmentation_graph
from export.sidecar import segmentation_artifact


class Head(nn.Module):
    """A 1x1 conv at half resolution, then `tail` (what the network does after scoring)."""

    def __init__(self, tail: str) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 5, 3, stride=2, padding=1)
        self.tail = tail

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        low = 4 * self.conv(x)                                             # (B, 5, H/2, W/2)
        if self.tail == "none":
            return low
        mode = "nearest" if self.tail == "nearest" else "bilinear"
        up = nn.functional.interpolate(low, size=x.shape[-2:], mode=mode,
                                       align_corners=None if mode == "nearest" else False)
        return torch.log_softmax(up, dim=1) if self.tail == "bilinear+log_softmax" else up


@pytest.mark.parametrize("tail, expected", [
    ("bilinear", Upsample("bilinear", False)),
    ("bilinear+log_softmax", None),      # the output is not the upsample's (DANNet's re-weighted log-probs)
    ("nearest", None),
    ("none", None),
])
def test_probe_finds_only_a_final_bilinear_upsample(tail, expected):
    assert probe_final_upsample(Head(tail).eval(), (1, 3, 8, 12)) == expected


def _normalised_f64(image, art):
    """The float64 reference input: (uint8 NHWC / 255 - mean) / std, NCHW."""
    mean = torch.tensor(art.mean).view(1, 3, 1, 1).double()
    std = torch.tensor(art.std).view(1, 3, 1, 1).double()
    return (image.permute(0, 3, 1, 2).double() / 255 - mean) / std


def _max_softmax_255(logits):
    """numpy reference of the graph's confidence: rint(255 * max softmax) over axis 1."""
    z = logits - logits.max(axis=1, keepdims=True)
    return np.rint(255 / np.exp(z).sum(axis=1))


def test_a_model_without_final_upsample_keeps_the_full_resolution_confidence():
    model = Head("bilinear+log_softmax").eval()
    art = segmentation_artifact({"num_classes": 5}, 8, 12, dynamic_batch=False, checkpoint_sha256="",
                                exporter={})
    graph = segmentation_graph(model, art)
    assert art.extra["confidence"] == "full_resolution" and graph.upsample is None
    gen = torch.Generator().manual_seed(1)
    image = torch.randint(0, 256, (2, 8, 12, 3), dtype=torch.uint8, generator=gen)
    with torch.no_grad():
        ids, conf = graph(image)
        x = _normalised_f64(image, art)
        logits = model.double()(x).numpy()
    np.testing.assert_array_equal(ids.numpy(), logits.argmax(axis=1))
    assert np.abs(conf.numpy() - _max_softmax_255(logits)).max() <= 1


def test_graph_without_upsample_argument_computes_the_full_resolution_confidence():
    graph = SegmentationGraph(Head("bilinear").eval(), (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)).eval()
    image = torch.full((1, 8, 12, 3), 200, dtype=torch.uint8)
    with torch.no_grad():
        ids, conf = graph(image)
        logits = graph.model((image.permute(0, 3, 1, 2).float() / 255 - 0.5) / 0.25).double().numpy()
    assert np.abs(conf.numpy() - _max_softmax_255(logits)).max() <= 1


def test_graph_refuses_to_change_the_confidence_definition_silently():
    graph = SegmentationGraph(Head("bilinear+log_softmax").eval(), (0.5, 0.5, 0.5), (0.25, 0.25, 0.25),
                              upsample=Upsample("bilinear", False)).eval()
    with pytest.raises(RuntimeError, match="no longer ends with the bilinear upsample"), torch.no_grad():
        graph(torch.zeros((1, 8, 12, 3), dtype=torch.uint8))


def test_graph_returns_the_confidence_at_the_logits_low_resolution():
    model = Head("bilinear").eval()
    art = segmentation_artifact({"num_classes": 5}, 8, 12, dynamic_batch=True, checkpoint_sha256="",
                                exporter={})
    graph = segmentation_graph(model, art)
    assert art.extra["confidence"] == "low_resolution"
    assert [(t.name, t.shape) for t in art.outputs] == [("mask", ["batch", 8, 12]),
                                                        ("confidence", ["batch", 4, 6])]
    gen = torch.Generator().manual_seed(2)
    image = torch.randint(0, 256, (2, 8, 12, 3), dtype=torch.uint8, generator=gen)
    with torch.no_grad():
        ids, conf = graph(image)
        x = _normalised_f64(image, art)
        low = (4 * model.conv.double()(x)).numpy()                       # (2, 5, 4, 6): before the upsample
        logits = model.double()(x).numpy()
    assert ids.shape == (2, 8, 12) and conf.shape == (2, 4, 6) and conf.dtype == torch.uint8
    assert (ids.numpy() == logits.argmax(axis=1)).mean() >= 0.99        # float32 vs float64 ties
    assert np.abs(conf.numpy().astype(int) - _max_softmax_255(low)).max() <= 1
