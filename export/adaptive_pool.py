"""Adaptive average pooling as two matrix products, for the ONNX export.

ONNX has no adaptive pooling. Where the input size is a multiple of the output size the exporter
writes one AveragePool, but otherwise (ERF-PSPNet's pyramid bins 3 and 6 on 64 x 128 features at
512 x 1024) it unrolls every bin into slices and sums: ~2,500 tiny Gather / Add / Squeeze nodes in
the demo-width ERF-PSPNet, 5.3 ms of its 43 ms on ONNX Runtime CPU (docs/benchmarks/README.md).
Bin i of n inputs pooled to m covers [floor(i n / m), ceil((i + 1) n / m)), as in PyTorch, so the
pooling is P_h @ x @ P_w^T with P (m, n) holding 1 / bin length over each bin: two MatMuls, the
same result up to float summation order (max 2e-7 on those logits, ids identical).

export_onnx swaps these in for the export only; training and .pt2 keep nn.AdaptiveAvgPool2d.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn


def pool_matrix(n: int, m: int) -> torch.Tensor:
    """(m, n) matrix whose row i averages PyTorch's adaptive bin i of n inputs pooled to m."""
    rows = torch.zeros(m, n)
    for i in range(m):
        start, end = (i * n) // m, -(-((i + 1) * n) // m)
        rows[i, start:end] = 1.0 / (end - start)
    return rows


class MatmulAdaptiveAvgPool2d(nn.Module):
    """nn.AdaptiveAvgPool2d(output_size) for a static input size: AveragePool where the sizes
    divide, two matrix products where they do not (module docstring)."""

    def __init__(self, output_size: int | tuple[int, int]) -> None:
        super().__init__()
        self.output_size = (output_size, output_size) if isinstance(output_size, int) else tuple(output_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        (h, w), (oh, ow) = x.shape[-2:], self.output_size
        if h % oh == 0 and w % ow == 0:
            return F.adaptive_avg_pool2d(x, (oh, ow))            # the exporter's single AveragePool
        ph, pw = pool_matrix(h, oh).to(x), pool_matrix(w, ow).to(x)
        return ph @ x @ pw.T                                     # (B, C, oh, ow)


@contextmanager
def matmul_adaptive_pools(module: nn.Module) -> Iterator[int]:
    """Swap every nn.AdaptiveAvgPool2d with a fixed output size for MatmulAdaptiveAvgPool2d while
    inside; the originals are put back on exit. Yields how many were swapped."""
    swapped: list[tuple[nn.Module, str, nn.Module]] = []
    for parent in module.modules():
        for name, child in parent.named_children():
            size = getattr(child, "output_size", None)
            if isinstance(child, nn.AdaptiveAvgPool2d) and size is not None and None not in (
                    size if isinstance(size, tuple) else (size,)):
                swapped.append((parent, name, child))
    try:
        for parent, name, child in swapped:
            setattr(parent, name, MatmulAdaptiveAvgPool2d(child.output_size))  # type: ignore[arg-type]
        yield len(swapped)
    finally:
        for parent, name, child in swapped:
            setattr(parent, name, child)
