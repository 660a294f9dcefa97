"""Find a segmenter's last bilinear upsample of its logits, and catch its input while tracing.

Every segmenter here (ERF-PSPNet, SegFormer, DeepLabV3, the tiny test ones) ends with
`F.interpolate(logits, size=x.shape[-2:], mode="bilinear")`: the classes are scored at 1/4 or 1/8
of the input and upsampled. The confidence of export/graphs.py is computed from the logits before
that upsample (64x fewer values at 1/8), so the graph needs them. Rather than a method on each model
(a second forward that could drift from the real one), the graph runs the model's own forward under
a TorchFunctionMode that records F.interpolate calls. The mode works in eager mode and under
torch.export (which the ONNX and .pt2 exporters use): it only observes, the traced ops are the
model's own.

Example:
    upsample = probe_final_upsample(model, (1, 3, 512, 1024))    # None: no such upsample
    with InterpolateCalls() as calls:
        logits = model(x)
    low = calls.input_of(logits)                                   # (B, C, h, w) or None
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

_INTERPOLATE = inspect.signature(F.interpolate)


@dataclass(frozen=True)
class Upsample:
    """How the model upsamples its logits: F.interpolate's mode and align_corners."""

    mode: str
    align_corners: bool | None


class InterpolateCalls(TorchFunctionMode):
    """Records (input, output, Upsample) of every F.interpolate call made inside the block."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[torch.Tensor, torch.Tensor, Upsample]] = []

    def __torch_function__(self, func: Any, types: Any, args: tuple[Any, ...] = (),
                           kwargs: dict[str, Any] | None = None) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if func is F.interpolate:
            bound = _INTERPOLATE.bind(*args, **kwargs)
            bound.apply_defaults()
            self.calls.append((bound.arguments["input"], out,
                               Upsample(bound.arguments["mode"], bound.arguments["align_corners"])))
        return out

    def input_of(self, logits: torch.Tensor) -> torch.Tensor | None:
        """The low-resolution logits when `logits` is the output of the last bilinear upsample seen
        (same batch and classes, larger), else None."""
        if not self.calls:
            return None
        low, out, how = self.calls[-1]
        if out is not logits or how.mode != "bilinear" or low.dim() != 4 or low.shape[:2] != out.shape[:2]:
            return None
        return low

    def final_upsample(self, logits: torch.Tensor) -> Upsample | None:
        return self.calls[-1][2] if self.input_of(logits) is not None else None


def probe_final_upsample(model: torch.nn.Module, shape: tuple[int, int, int, int]) -> Upsample | None:
    """Run `model` once on zeros of `shape` (B, 3, H, W) and say how it upsamples its logits at the
    end, or None when its output is not a bilinear upsample (e.g. a log-softmax after it)."""
    with torch.no_grad(), InterpolateCalls() as calls:
        logits = model(torch.zeros(shape))
    return calls.final_upsample(logits)
