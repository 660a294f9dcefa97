"""Parity of an exported model with its PyTorch source: error figures and a pass/fail verdict.

Graphs with uint8 results ("ids_confidence_u8", "image_u8") are judged in LSB: class ids must
agree with numpy's argmax of the PyTorch logits on min_agreement of the pixels, and the
confidence must be within 1 LSB of round(255 * max softmax) computed here in float64 — of the
full-resolution logits, or for graphs whose sidecar says extra["confidence"] == "before_upsample"
of the logits before the model's final upsample, resized the same way in float64, or for
"low_resolution" of those logits at their own (h, w), not resized. Label
ties: where the two best logits are within float32 rounding of each other, the exported graph
(float32, another summation order) and PyTorch may pick different classes; such pixels are
rare (< 0.1 % on random inputs) and their confidence is the same either way (the tied
probabilities are equal), which is why agreement is a fraction and confidence is compared on
every pixel.

Example:
    report = compare(reference, exported, labels_axis=1)      # both (B, C, H, W)
    report.passed(rtol=1e-3, min_agreement=0.999)
    report = compare_ids(logits, mask, confidence)            # PyTorch logits vs graph outputs
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from export.final_upsample import Upsample

# How far a confidence computed before the final upsample may be from the max softmax of the
# upsampled logits (the definition of exports before perf13), in LSB (1/255): mean and 99th
# percentile over the pixels. The differences sit on class boundaries, where the softmax of the
# interpolated logits dips and the interpolated softmax does not; measured on a trained ERF-PSPNet
# (docs/export.md): mean 3-5, 99th percentile 35-60, max ~120 LSB.
BEFORE_UPSAMPLE_MEAN_LSB = 8.0
BEFORE_UPSAMPLE_P99_LSB = 64.0


@dataclass
class ParityReport:
    """Figures over all compared samples.

    max_abs: max |exported - reference|.
    max_rel: max_abs / max |reference| (scale-free; per-element relative error explodes near 0).
    agreement: fraction of pixels whose argmax class agrees (segmentation), else None.
    max_lsb: uint8 outputs: max |exported - reference| in units of 1/255 (then max_abs is the
        same figure and max_rel is max_lsb / 255), else None.
    """

    samples: int
    max_abs: float
    max_rel: float
    agreement: float | None
    max_lsb: int | None = None

    def passed(self, rtol: float, min_agreement: float, lsb: int = 1) -> bool:
        ok = bool(self.max_rel <= rtol) if self.max_lsb is None else self.max_lsb <= lsb
        if self.agreement is not None:
            ok = ok and self.agreement >= min_agreement
        return ok

    def merge(self, other: ParityReport) -> ParityReport:
        if self.samples == 0:
            return other
        agreement = None
        if self.agreement is not None and other.agreement is not None:
            agreement = (self.agreement * self.samples + other.agreement * other.samples) / (
                self.samples + other.samples)
        max_lsb = (max(self.max_lsb, other.max_lsb)
                   if self.max_lsb is not None and other.max_lsb is not None else None)
        return ParityReport(self.samples + other.samples, max(self.max_abs, other.max_abs),
                            max(self.max_rel, other.max_rel), agreement, max_lsb)


EMPTY = ParityReport(0, 0.0, 0.0, None)


def compare(reference: np.ndarray, exported: np.ndarray, labels_axis: int | None = None) -> ParityReport:
    """Compare one batch of outputs; `labels_axis` (the class axis) enables label agreement."""
    if reference.shape != exported.shape:
        raise ValueError(f"exported output shape {exported.shape} differs from PyTorch's {reference.shape}")
    ref = reference.astype(np.float64)
    diff = np.abs(exported.astype(np.float64) - ref)
    max_abs = float(diff.max())
    peak = float(np.abs(ref).max())
    max_rel = max_abs / peak if peak > 0 else (0.0 if max_abs == 0 else float("inf"))
    agreement = None
    if labels_axis is not None:
        agreement = float((reference.argmax(labels_axis) == exported.argmax(labels_axis)).mean())
    return ParityReport(int(reference.shape[0]), max_abs, max_rel, agreement)


def softmax_max(logits: np.ndarray) -> np.ndarray:
    """(B, C, h, w) logits -> (B, h, w) float64 max softmax over C."""
    z = logits.astype(np.float64)
    z = z - z.max(axis=1, keepdims=True)
    return np.exp(z).max(axis=1) / np.exp(z).sum(axis=1)


def reference_ids_confidence(logits: np.ndarray, low: np.ndarray | None = None,
                             upsample: Upsample | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(B, C, H, W) logits -> numpy argmax over C and round(255 * max softmax), computed in float64.

    With `low` (B, C, h, w), the logits before the model's final upsample, and that upsample: the
    confidence is the max softmax of `low` resized to (H, W) like the graph does (float64); with
    `low` alone it is that max softmax at (h, w) ("low_resolution" graphs).
    """
    if low is None:
        return logits.argmax(axis=1), np.rint(255.0 * softmax_max(logits))
    if upsample is None:
        return logits.argmax(axis=1), np.rint(255.0 * softmax_max(low))
    import torch
    import torch.nn.functional as F

    small = torch.from_numpy(255.0 * softmax_max(low))[:, None]                     # (B, 1, h, w)
    big = F.interpolate(small, size=logits.shape[-2:], mode=upsample.mode,
                        align_corners=upsample.align_corners)                      # (B, 1, H, W)
    return logits.argmax(axis=1), np.rint(big[:, 0].numpy())


def compare_ids(logits: np.ndarray, ids: np.ndarray, confidence: np.ndarray, low: np.ndarray | None = None,
                upsample: Upsample | None = None) -> ParityReport:
    """PyTorch logits (B, C, H, W) vs a graph's uint8 class ids and confidence (B, H, W); `low` and
    `upsample` as for reference_ids_confidence."""
    ref_ids, ref_conf = reference_ids_confidence(logits, low, upsample)
    if ids.shape != ref_ids.shape or confidence.shape != ref_conf.shape:
        raise ValueError(f"exported outputs {ids.shape} / {confidence.shape} do not match PyTorch's "
                         f"{ref_ids.shape} / {ref_conf.shape}")
    lsb = int(np.abs(confidence.astype(np.int64) - ref_conf.astype(np.int64)).max())
    return ParityReport(int(ids.shape[0]), float(lsb), lsb / 255.0,
                        float((ids == ref_ids).mean()), lsb)


def compare_u8(reference: np.ndarray, exported: np.ndarray) -> ParityReport:
    """uint8 (or [0, 255]-valued) reference vs a graph's uint8 output of the same shape, in LSB."""
    if reference.shape != exported.shape:
        raise ValueError(f"exported output shape {exported.shape} differs from PyTorch's {reference.shape}")
    lsb = int(np.abs(exported.astype(np.int64) - reference.astype(np.int64)).max())
    return ParityReport(int(reference.shape[0]), float(lsb), lsb / 255.0, None, lsb)
