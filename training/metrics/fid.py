"""Fréchet distance between two sets of image features (FID when the features are Inception's).

FD = |mu_1 - mu_2|^2 + tr(S_1) + tr(S_2) - 2 tr((S_1 S_2)^(1/2)).
tr((S_1 S_2)^(1/2)) is computed as the sum of square roots of the eigenvalues of the
symmetric PSD matrix S_1^(1/2) S_2 S_1^(1/2) (same spectrum as S_1 S_2), with eigh: no
complex round-off to discard as with a general matrix square root, and tiny negative
eigenvalues of rank-deficient covariances (fewer images than feature dimensions) clip to 0.

With few images FID is biased upwards; compare values only at the same image count and the
same feature network (the `features` label of evaluate-mask-restorer says which).

Example:
    acc = FeatureStats()
    for images in batches:
        acc.add(pooled_features(net, images))
    fd = frechet_distance(*acc.stats(), *other.stats())
"""

from __future__ import annotations

import numpy as np
import torch


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """Fréchet distance of N(mu1, sigma1) and N(mu2, sigma2); mu (D,), sigma (D, D)."""
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    s1, s2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (mu1.size, mu1.size):
        raise ValueError(f"shapes differ: mu {mu1.shape} / {mu2.shape}, sigma {s1.shape} / {s2.shape}")
    s1 = (s1 + s1.T) / 2
    s2 = (s2 + s2.T) / 2
    w, v = np.linalg.eigh(s1)
    root1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T               # S_1^(1/2)
    inner = root1 @ s2 @ root1
    trace_sqrt = float(np.sqrt(np.clip(np.linalg.eigvalsh((inner + inner.T) / 2), 0, None)).sum())
    diff = mu1 - mu2
    # The distance is >= 0; round-off on identical sets can land a hair below it.
    return max(0.0, float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * trace_sqrt))


@torch.no_grad()
def pooled_features(net: torch.nn.Module, images: torch.Tensor) -> np.ndarray:
    """(B, D) features: every feature map of `net(images)` averaged over space, concatenated."""
    out = net(images)
    maps = out if isinstance(out, (list, tuple)) else [out]
    pooled = [m.float().mean(dim=(2, 3)) if m.dim() == 4 else m.float().flatten(1) for m in maps]
    return torch.cat(pooled, dim=1).cpu().numpy().astype(np.float64)


class FeatureStats:
    """Accumulates (B, D) feature rows; stats() -> (mean (D,), covariance (D, D))."""

    def __init__(self) -> None:
        self.rows: list[np.ndarray] = []

    def add(self, features: np.ndarray) -> None:
        self.rows.append(np.asarray(features, np.float64))

    @property
    def count(self) -> int:
        return sum(len(r) for r in self.rows)

    def stats(self) -> tuple[np.ndarray, np.ndarray]:
        if self.count < 2:
            raise ValueError(f"FID needs at least 2 images per set, got {self.count}")
        x = np.concatenate(self.rows)
        return x.mean(axis=0), np.cov(x, rowvar=False)
