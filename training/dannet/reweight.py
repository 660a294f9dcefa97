"""DANNet's probability re-weighting, computed once from the source set's labels.

For class k with share a_k of the labelled source pixels: w'_k = -log(a_k), then
w_k = (w'_k - mean(w')) / std(w') * 0.05 + 1 (std: the sample std, n - 1, as the reference
implementation's torch.std). Rare classes get w_k slightly above 1, frequent ones below.
The same weights weight the source cross entropy and multiply the predicted probabilities
before argmax (pseudo labels during training, every prediction at inference).

Example:
    shares = class_shares(dataset, num_classes=19)          # from the source labels
    w = class_weights_from_shares(shares)                   # list of 19 floats
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rain_seg_ros.labels import IGNORE_INDEX

SPREAD = 0.05   # the spec's scale of the standardised weights


def class_weights_from_shares(shares: Sequence[float], spread: float = SPREAD,
                              min_share: float = 1e-4) -> list[float]:
    """w_k from class pixel shares a_k (need not sum to 1; they are normalised).

    Args:
        min_share: floor for a_k, so a class absent from the source (a_k = 0, -log a_k = inf)
            gets a large but finite weight; Cityscapes' rarest class has a_k ~ 1e-3.
    Returns:
        K positive weights.
    """
    a = np.asarray(shares, dtype=np.float64)
    if a.ndim != 1 or a.size < 2 or (a < 0).any() or a.sum() <= 0:
        raise ValueError(f"class shares must be >= 0 for at least 2 classes, not all 0; got {list(shares)}")
    a = np.maximum(a / a.sum(), min_share)
    raw = -np.log(a)
    std = raw.std(ddof=1)
    z = (raw - raw.mean()) / std if std > 0 else np.zeros_like(raw)
    w = z * spread + 1.0
    if (w <= 0).any():
        raise ValueError(f"re-weighting gives a non-positive weight ({w.min():.3f}); raise min_share")
    return [float(v) for v in w]


def class_shares(dataset, num_classes: int, ignore_index: int = IGNORE_INDEX,
                 where: str = "source") -> list[float]:
    """Pixel share of each class over every label of `dataset` (a SegmentationDataset).

    Raises:
        ValueError (one line) when a label holds a class id the segmenter does not have.
    """
    counts = np.zeros(num_classes, dtype=np.int64)
    for index in range(len(dataset)):
        mask = dataset.load_mask(index)
        ids = mask[mask != ignore_index]
        if ids.size and int(ids.max()) >= num_classes:
            raise ValueError(f"{where}: labels of {dataset.items[index].image.name} hold class id "
                             f"{int(ids.max())} but the segmenter has num_classes={num_classes}; "
                             f"the source's classes must be the segmenter's")
        counts += np.bincount(ids, minlength=num_classes)
    total = int(counts.sum())
    if total == 0:
        raise ValueError(f"{where}: no labelled pixel in {len(dataset)} images; "
                         f"DANNet needs a labelled source")
    return [c / total for c in counts.tolist()]

