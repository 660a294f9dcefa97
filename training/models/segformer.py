"""SegFormer B0-B5 through HF transformers, behind the project's segmenter contract.

The network is `transformers.SegformerForSemanticSegmentation` built from a
`SegformerConfig` with the official MiT-B0..B5 hyper-parameters (Xie et al., 2021; the
values of the nvidia/mit-b* configs). Its decode head predicts at 1/4 resolution;
`forward` upsamples the logits to the input size so every segmenter looks the same.

`init_from` a local HF checkpoint directory (config.json + weights, e.g. a
Cityscapes-finetuned SegFormer saved with `save_pretrained`) loads its weights with
`local_files_only=True`: nothing is downloaded. A different class count re-initialises the
classifier only (transformers' `ignore_mismatched_sizes`). Weights must be safetensors
(`model.safetensors`, or sharded with its index): a folder with only `pytorch_model.bin`, a
pickle that can run code when loaded, is refused.

`import_hf_segformer(dir)` takes such a folder whole, every weight included (the
`import-checkpoint` command), with the constructor kwargs that rebuild it.

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
                str(path), config=config, local_files_only=True, ignore_mismatched_sizes=True,
                use_safetensors=True)
            log.info("SegFormer-%s: weights from %s", variant, path)
        else:
            self.model = SegformerForSemanticSegmentation(config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.model(pixel_values=x, return_dict=True).logits  # (B, K, H/4, W/4)
        return F.interpolate(logits, size=x.shape[-2:], mode="bilinear", align_corners=False)


# Files that hold weights: only the first two are read; the others are named in the refusal.
SAFE_WEIGHTS = ("model.safetensors", "model.safetensors.index.json")
PICKLED_WEIGHTS = ("pytorch_model.bin", "pytorch_model.bin.index.json", "tf_model.h5", "flax_model.msgpack")
MAX_CONFIG_BYTES = 1 << 20  # a SegFormer config.json is ~2 KB; refuse to parse anything huge
# Config fields that change the network's output; SegFormer() can only build the official ones.
ARCHITECTURE_FIELDS = ("hidden_sizes", "depths", "decoder_hidden_size", "num_attention_heads", "sr_ratios",
                       "patch_sizes", "strides", "mlp_ratios", "num_channels", "num_encoder_blocks",
                       "hidden_act", "layer_norm_eps", "reshape_last_stage")


def _listed(value: Any) -> Any:
    return list(value) if isinstance(value, (list, tuple)) else value


def read_hf_config(path: Path) -> Any:
    """The folder's SegformerConfig (JSON), after checking the folder holds safetensors weights."""
    from transformers import SegformerConfig

    config_file = path / "config.json"
    if not config_file.is_file():
        raise FileNotFoundError(f"SegFormer: {path} is not an HF checkpoint directory (no config.json)")
    if config_file.stat().st_size > MAX_CONFIG_BYTES:
        raise ValueError(f"SegFormer: {config_file} is {config_file.stat().st_size} bytes, "
                         f"more than a config ({MAX_CONFIG_BYTES}): refused")
    if not any((path / name).is_file() for name in SAFE_WEIGHTS):
        found = [name for name in PICKLED_WEIGHTS if (path / name).is_file()]
        raise ValueError(f"SegFormer: {path} has no model.safetensors"
                         + (f" (only {', '.join(found)}: pickled weights can run code and are refused; "
                            "re-save them with save_pretrained(..., safe_serialization=True) where "
                            "you trust them)" if found else ""))
    try:
        saved = SegformerConfig.from_pretrained(str(path), local_files_only=True)
    except (OSError, ValueError) as exc:  # transformers' JSON and field errors
        raise ValueError(f"SegFormer: {config_file} is not a readable SegformerConfig "
                         f"({str(exc).splitlines()[0]})") from exc
    if saved.model_type != "segformer":
        raise ValueError(f"SegFormer: {config_file} describes a {saved.model_type!r} model, not segformer")
    return saved


def _check_checkpoint_dir(path: Path, config: Any, fields: tuple[str, ...] = ARCHITECTURE_FIELDS[:5]) -> Path:
    """Refuse a checkpoint of another architecture: only the classifier may differ."""
    saved = read_hf_config(path)
    for field in fields:
        theirs, ours = _listed(getattr(saved, field)), _listed(getattr(config, field))
        if theirs != ours:
            raise ValueError(f"SegFormer init_from {path}: its {field}={theirs} differs from this "
                             f"model's {ours} (wrong variant?)")
    return path


def hf_segformer_kwargs(path: str | Path) -> dict[str, Any]:
    """SegFormer() kwargs that rebuild the network of an HF folder: the official variant whose
    sizes it has (else b0 with its sizes as overrides) and its own class count.

    Raises:
        ValueError: when the folder's network is not one SegFormer() can build (other heads,
            ratios, activation...), or its weights are not safetensors.
    """
    saved = read_hf_config(Path(path))
    sizes = {f: _listed(getattr(saved, f)) for f in ("hidden_sizes", "depths", "decoder_hidden_size")}
    variant = next((v for v, official in VARIANTS.items() if official == sizes), None)
    kwargs: dict[str, Any] = {"variant": variant or "b0", "num_classes": int(saved.num_labels)}
    if variant is None:
        kwargs.update(sizes)
    config = segformer_config(**kwargs)
    _check_checkpoint_dir(Path(path), config, ARCHITECTURE_FIELDS)
    return kwargs


def import_hf_segformer(path: str | Path) -> tuple[SegFormer, dict[str, Any]]:
    """(SegFormer holding every weight of the HF folder, its constructor kwargs).

    Unlike `init_from`, nothing may be left at random: missing, unexpected or mismatched
    weights (an encoder-only `mit-b*` folder, another head) are an error.
    """
    from transformers import SegformerForSemanticSegmentation

    kwargs = hf_segformer_kwargs(path)
    model = SegFormer(**kwargs)
    loaded: Any = SegformerForSemanticSegmentation.from_pretrained(
        str(path), config=model.model.config, local_files_only=True, use_safetensors=True,
        output_loading_info=True)
    hf, info = loaded  # (model, {"missing_keys": [...], ...}) with output_loading_info
    problems = {k: info[k] for k in ("missing_keys", "unexpected_keys", "mismatched_keys") if info.get(k)}
    if problems:
        what, keys = next(iter(problems.items()))
        raise ValueError(f"SegFormer: {path} does not fit SegformerForSemanticSegmentation: "
                         f"{len(keys)} {what.replace('_', ' ')}, e.g. {sorted(map(str, keys))[:3]} "
                         "(an encoder-only checkpoint? use it as init_from for train-segmenter)")
    model.model = hf.eval()
    return model, kwargs
