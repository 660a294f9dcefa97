"""Load a trained SPADE generator frozen, and a trained mask restorer, from their checkpoints.

The frozen generator is in eval mode with requires_grad off on every parameter: gradients
flow through it to its input (the restored mask) but it is never updated, and spectral
norm's power iteration (which runs in train mode) never touches its buffers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from training.engine import checkpoint as ckpt


def load_frozen_spade(path: str | Path, device: str | torch.device = "cpu"
                      ) -> tuple[torch.nn.Module, dict[str, Any]]:
    """(generator, extra_meta) of a train-spade checkpoint; another kind of checkpoint is refused."""
    if not str(path):
        raise ckpt.CheckpointError("no SPADE checkpoint given: set spade=RUN (a train-spade output)")
    _, meta, _ = ckpt.read_metadata(path)
    if meta.get("task") != "spade":
        raise ckpt.CheckpointError(f"{path} is not a train-spade checkpoint (task={meta.get('task')!r})")
    gen = ckpt.load_modules(path, ["generator"], device=device)["generator"]
    freeze(gen)
    return gen, meta


def freeze(module: torch.nn.Module) -> torch.nn.Module:
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return module


def load_restorer(path: str | Path, device: str | torch.device = "cpu"
                  ) -> tuple[torch.nn.Module, dict[str, Any]]:
    """(mask generator in eval mode, extra_meta) of a train-mask-restorer checkpoint."""
    _, meta, _ = ckpt.read_metadata(path)
    if meta.get("task") != "mask_restorer":
        raise ckpt.CheckpointError(f"{path} is not a train-mask-restorer checkpoint "
                                   f"(task={meta.get('task')!r})")
    return ckpt.load_modules(path, ["mask_generator"], device=device)["mask_generator"], meta
