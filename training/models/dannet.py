"""The deployable DANNet network: relight -> segment -> probability re-weighting, as ONE module.

A DANNet checkpoint stores this module as "model" (kind "dannet_segmenter") with the usual
segmentation metadata, so `evaluate`, `export onnx`, `export verify` and the runtime treat it
like any segmenter: normalised image in, per-class scores out. The scores are
`log(softmax(logits) * w)`: their argmax is the spec's re-weighted prediction
`argmax_k(w_k * P_k)`, and the runtime's softmax of them is the re-weighted probability
`w_k P_k / sum_j w_j P_j`.

Example:
    net = DANNetSegmenter(segmenter_kind="erf_pspnet", segmenter_kwargs={"num_classes": 19},
                          relight_kwargs={"base_channels": 16}, class_weights=[1.0] * 19)
    scores = net(normalised_images)   # (B, 19, H, W)
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from rain_seg_ros.labels import IMAGENET_MEAN, IMAGENET_STD

# What a checkpoint may name as the inner segmenter: a kind from training.models.MODEL_KINDS,
# and only a plain segmenter (a checkpoint is data; it must not nest or pick other modules).
SEGMENTER_KINDS = ("deeplabv3", "segformer", "erf_pspnet")


class DANNetSegmenter(nn.Module):
    """Args:
        segmenter_kind, segmenter_kwargs: a segmenter of training.models.MODEL_KINDS.
        relight_kwargs: RelightNet kwargs, or None for no relighting (the source-only ablation).
        class_weights: the K re-weighting factors w_k (training.dannet.reweight), all > 0.
        mean, std: the normalisation of the input; relighting works on [0, 1] images.
    """

    log_weights: torch.Tensor   # (1, K, 1, 1) buffers, see __init__
    mean: torch.Tensor          # (1, 3, 1, 1)
    std: torch.Tensor

    def __init__(self, *, segmenter_kind: str, segmenter_kwargs: dict[str, Any],
                 relight_kwargs: dict[str, Any] | None, class_weights: list[float],
                 mean: list[float] | tuple[float, ...] = IMAGENET_MEAN,
                 std: list[float] | tuple[float, ...] = IMAGENET_STD):
        super().__init__()
        from training.models import build_model
        from training.models.relight import RelightNet

        if segmenter_kind not in SEGMENTER_KINDS:
            raise ValueError(f"segmenter_kind must be one of {SEGMENTER_KINDS}, got {segmenter_kind!r}")
        weights = torch.tensor(class_weights, dtype=torch.float32)
        if weights.ndim != 1 or not bool((weights > 0).all()):
            raise ValueError(f"class_weights must be positive, got {class_weights}")
        self.segmenter = build_model(segmenter_kind, segmenter_kwargs)
        self.relight: RelightNet | None = RelightNet(**relight_kwargs) if relight_kwargs is not None else None
        # Derived from the constructor arguments the checkpoint records: not part of the state.
        self.register_buffer("log_weights", weights.log().view(1, -1, 1, 1), persistent=False)
        self.register_buffer("mean", torch.tensor(mean).float().view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).float().view(1, 3, 1, 1), persistent=False)

    def relit(self, images: torch.Tensor) -> torch.Tensor:
        """[0, 1] images (B, 3, H, W) -> what the segmenter sees (relit, or unchanged without relighting)."""
        return images if self.relight is None else self.relight(images)

    def segment(self, images: torch.Tensor) -> torch.Tensor:
        """[0, 1] images -> raw segmenter logits (B, K, H, W) of the relit images (training)."""
        return self.segmenter((self.relit(images) - self.mean) / self.std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised images (B, 3, H, W) -> re-weighted log-probabilities (B, K, H, W)."""
        logits = self.segment(x * self.std + self.mean)
        return torch.log_softmax(logits.float(), dim=1) + self.log_weights
