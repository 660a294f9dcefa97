"""SegFormer B0-B5 through HF transformers, behind the project's segmenter contract.

The network is `transformers.SegformerForSemanticSegmentation` built from a
`SegformerConfig` with the official MiT-B0..B5 hyper-parameters (Xie et al., 2021; the
values of the nvidia/mit-b* configs). Its decode head predicts at 1/4 resolution;
`forward` upsamples the logits to the input size so every segmenter looks the same.

`init_from` a local HF checkpoint directory (config.json + weights, e.g. a
Cityscapes-finetuned SegFormer saved with `save_pretrained`) loads its weights with
`local_files_only=True`: nothing is downloaded. A different class count re-initialises the
classifier only (transformers' `ignore_mismatched_sizes`).

Example:
    model = SegFormer(variant="b0", num_classes=19, init_from="/data/segformer-b0-cityscapes")
    logits = model(normalised_images)  # (B, 19, H, W)
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

log = logging.getLogger(__name__)

# Official MiT encoder sizes and decoder widths. Shared by all variants: patch sizes
# (7, 3, 3, 3), strides (4, 2, 2, 2), heads (1, 2, 5, 8), reduction ratios (8, 4, 2, 1),
# MLP ratio 4 — the SegformerConfig defaults.
VARIANTS: dict[str, dict[str, Any]] = {
    "b0": {"hidden_sizes": [32, 64, 160, 256], "depths": [2, 2, 2, 2], "decoder_hidden_size": 256},
    "b1": {"hidden_sizes": [64, 128, 320, 512], "depths": [2, 2, 2, 2], "decoder_hidden_size": 256},
    "b2": {"hidden_sizes": [64, 128, 320, 512], "depths": [3, 4, 6, 3], "decoder_hidden_size": 768},
    "b3": {"hidden_sizes": [64, 128, 320, 512], "depths": [3, 4, 18, 3], "decoder_hidden_size": 768},
    "b4": {"hidden_sizes": [64, 128, 320, 512], "depths": [3, 8, 27, 3], "decoder_hidden_size": 768},
    "b5": {"hidden_sizes": [64, 128, 320, 512], "depths": [3, 6, 40, 3], "decoder_hidden_size": 768},
}


def segformer_config(variant: str, num_classes: int, **overrides: Any):
    """The `SegformerConfig` of an official variant, with optional field overrides."""
    from transformers import SegformerConfig

    if variant not in VARIANTS:
        raise ValueError(f"unknown SegFormer variant {variant!r}; known: {sorted(VARIANTS)}")
    fields = {**VARIANTS[variant], **{k: v for k, v in overrides.items() if v is not None}}
    shared: dict[str, Any] = {"num_labels": num_classes, "num_attention_heads": [1, 2, 5, 8],
                              "sr_ratios": [8, 4, 2, 1], "patch_sizes": [7, 3, 3, 3],
                              "strides": [4, 2, 2, 2], "mlp_ratios": [4, 4, 4, 4]}
    return SegformerConfig(**shared, **fields)


class SegFormer(nn.Module):
    """SegFormer: normalised (B, 3, H, W) -> logits (B, num_classes, H, W).

    Args:
        variant: "b0" .. "b5".
        num_classes: output classes.
        init_from: local HF checkpoint directory to load weights from (never downloads).
        hidden_sizes, depths, decoder_hidden_size: override the variant's sizes (tiny
            models for tests and CPU runs); None keeps the official value.
    """

    def __init__(self, *, variant: str = "b0", num_classes: int = 19, init_from: str | None = None,
                 hidden_sizes: list[int] | None = None, depths: list[int] | None = None,
                 decoder_hidden_size: int | None = None):
        super().__init__()
        from transformers import SegformerForSemanticSegmentation

        config = segformer_config(variant, num_classes, hidden_sizes=hidden_sizes, depths=depths,
                                  decoder_hidden_size=decoder_hidden_size)
        if init_from:
            path = _check_checkpoint_dir(Path(init_from), config)
            self.model = SegformerForSemanticSegmentation.from_pretrained(
                str(path), config=config, local_files_only=True, ignore_mismatched_sizes=True)
            log.info("SegFormer-%s: weights from %s", variant, path)
        else:
            self.model = SegformerForSemanticSegmentation(config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.model(pixel_values=x, return_dict=True).logits  # (B, K, H/4, W/4)
        return F.interpolate(logits, size=x.shape[-2:], mode="bilinear", align_corners=False)


def _check_checkpoint_dir(path: Path, config: Any) -> Path:
    """Refuse a checkpoint of another architecture: only the classifier may differ."""
    from transformers import SegformerConfig

    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"SegFormer init_from: {path} is not an HF checkpoint directory "
                                "(no config.json)")
    saved = SegformerConfig.from_pretrained(str(path), local_files_only=True)
    for field in ("hidden_sizes", "depths", "decoder_hidden_size", "num_attention_heads", "sr_ratios"):
        theirs, ours = getattr(saved, field), getattr(config, field)
        if (list(theirs) if isinstance(theirs, (list, tuple)) else theirs) != (
                list(ours) if isinstance(ours, (list, tuple)) else ours):
            raise ValueError(f"SegFormer init_from {path}: its {field}={theirs} differs from this "
                             f"model's {ours} (wrong variant?)")
    return path
