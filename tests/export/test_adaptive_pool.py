"""Adaptive average pooling exported as MatMuls (export/adaptive_pool.py) vs PyTorch's own pooling."""

from __future__ import annotations

import collections

import numpy as np
import onnx
import pytest
import torch
from torch import nn

from export.adaptive_pool import MatmulAdaptiveAvgPool2d, matmul_adaptive_pools
from export.sidecar import exporter_versions, segmentation_artifact
from export.to_onnx import export_onnx
from rain_seg_ros.backends import open_backend


@pytest.mark.parametrize(("hw", "out"), [((10, 13), 3), ((64, 128), 6), ((7, 5), (2, 4)), ((12, 8), 4),
                                         ((9, 9), 1)])
def test_matmul_pool_equals_adaptive_avg_pool(hw, out):
    x = torch.randn(2, 4, *hw, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(MatmulAdaptiveAvgPool2d(out)(x), nn.AdaptiveAvgPool2d(out)(x),
                               rtol=0, atol=1e-6)


class _Pyramid(nn.Module):
    """A pyramid-pooling head like ERF-PSPNet's: bins that do not divide the feature size."""

    def __init__(self) -> None:
        super().__init__()
        self.pools = nn.ModuleList(nn.AdaptiveAvgPool2d(b) for b in (1, 2, 3, 6))
        self.keep = nn.AdaptiveAvgPool2d((None, 4))       # a free dimension: left as it is

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        up = [nn.functional.interpolate(p(x), size=size, mode="bilinear", align_corners=False)
              for p in self.pools]
        return torch.cat([x, *up], dim=1)[:, :19] + self.keep(x).mean()


@pytest.mark.parametrize("dynamic_batch", [False, True])
def test_export_writes_matmuls_not_unrolled_slices_and_matches_torch(tmp_path, dynamic_batch):
    model = _Pyramid().eval()
    art = segmentation_artifact({"num_classes": 19}, 40, 72, dynamic_batch=dynamic_batch,
                                checkpoint_sha256="", exporter=exporter_versions(opset="18"),
                                contract="float")
    x = torch.randn(3 if dynamic_batch else 1, 3, 40, 72, generator=torch.Generator().manual_seed(1))
    path = export_onnx(model, art, tmp_path / "p.onnx")
    ops = collections.Counter(n.op_type for n in onnx.load(str(path)).graph.node)
    # bins 3 and 6 of 40 x 72 do not divide: unrolled, they were ~110 Gather/Slice + Add nodes
    assert ops["MatMul"] == 4 and ops["Gather"] + ops["Slice"] < 10 and sum(ops.values()) < 60, ops
    assert [type(p) for p in model.pools] == [nn.AdaptiveAvgPool2d] * 4   # put back after the export
    with open_backend(path, backend="onnxruntime", device="cpu") as ort_model, torch.no_grad():
        np.testing.assert_allclose(ort_model.infer(x.numpy()), model(x).numpy(), rtol=0, atol=1e-5)


def test_swap_counts_and_restores_on_error():
    model = _Pyramid()
    with pytest.raises(RuntimeError), matmul_adaptive_pools(model) as n:
        assert n == 4 and all(isinstance(p, MatmulAdaptiveAvgPool2d) for p in model.pools)
        assert isinstance(model.keep, nn.AdaptiveAvgPool2d)
        raise RuntimeError("export failed")
    assert all(type(p) is nn.AdaptiveAvgPool2d for p in model.pools)
