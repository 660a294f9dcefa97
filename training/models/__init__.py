"""Model constructors by kind: the one table that turns a checkpoint's ModuleSpec into a module.

Each entry maps a kind to "module:callable"; the callable takes the spec's config as keyword
arguments. Imports are lazy so that listing kinds costs nothing.
"""

from __future__ import annotations

import importlib
import pickle
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

MODEL_KINDS: dict[str, str] = {
    # DSANet (issue 3)
    "dsanet_encoder": "training.models.dsanet:Disentangler",
    "dsanet_generator": "training.models.dsanet:Synthesizer",
    "patch_discriminator": "training.models.discriminator:PatchDiscriminator",
    # Segmenters (issue 4)
    "deeplabv3": "training.models.deeplabv3:DeepLabV3",
    "segformer": "training.models.segformer:SegFormer",
    "erf_pspnet": "training.models.erf_pspnet:ERFPSPNet",
    # DANNet (issue 12)
    "relight": "training.models.relight:RelightNet",
    "output_discriminator": "training.models.output_discriminator:OutputDiscriminator",
    "dannet_segmenter": "training.models.dannet:DANNetSegmenter",
    # Mask restoration (issue 15): image generator, mask generator, discriminator
    "spade_generator": "training.models.spade:SPADEGenerator",
    "spade_discriminator": "training.models.spade:MultiscalePatchDiscriminator",
    # CycleGAN day <-> night (issue 14); its discriminators are patch_discriminator
    "resnet_generator": "training.models.resnet_generator:ResnetGenerator",
    # Condition estimator (issue 17)
    "condition_net": "training.models.condition_net:ConditionNet",
}


def build_model(kind: str, config: dict[str, Any]) -> torch.nn.Module:
    """Build a module of `kind` from its constructor kwargs."""
    if kind not in MODEL_KINDS:
        raise ValueError(f"unknown model kind {kind!r}; known: {sorted(MODEL_KINDS)}")
    module_name, _, attr = MODEL_KINDS[kind].partition(":")
    factory = getattr(importlib.import_module(module_name), attr)
    return factory(**config)


@contextmanager
def init_from_errors(init_from: str | None) -> Iterator[None]:
    """Around building a model with pretrained weights: a missing or unreadable
    `model.kwargs.init_from` file is one error naming the parameter and the file, not a loader
    traceback (train-segmenter, train-dannet)."""
    from training.engine import checkpoint as ckpt

    try:
        with warnings.catch_warnings():   # torch's pickle-protocol warning on a refused file
            warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
            yield
    except (OSError, ValueError, RuntimeError, EOFError, pickle.UnpicklingError) as exc:
        if not init_from:
            raise
        raise ckpt.CheckpointError(f"model.kwargs.init_from={init_from}: cannot load it "
                                   f"({ckpt.torch_load_reason(exc)})") from exc
