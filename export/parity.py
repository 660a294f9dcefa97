"""Parity of an exported model with its PyTorch source: error figures and a pass/fail verdict.

Example:
    report = compare(reference, exported, labels_axis=1)      # both (B, C, H, W)
    report.passed(rtol=1e-3, min_agreement=0.999)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class ParityReport:
    """Figures over all compared samples.

    max_abs: max |exported - reference|.
    max_rel: max_abs / max |reference| (scale-free; per-element relative error explodes near 0).
    agreement: fraction of pixels whose argmax class agrees (segmentation), else None.
    """

    samples: int
    max_abs: float
    max_rel: float
    agreement: float | None

    def passed(self, rtol: float, min_agreement: float) -> bool:
        ok = bool(self.max_rel <= rtol)
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
        return ParityReport(self.samples + other.samples, max(self.max_abs, other.max_abs),
                            max(self.max_rel, other.max_rel), agreement)


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
