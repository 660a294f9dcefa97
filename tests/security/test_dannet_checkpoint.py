"""Hostile DANNet checkpoints: the metadata that rebuilds the network is data, checked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from training.engine.checkpoint import FORMAT, CheckpointError, load_modules


def _checkpoint(path: Path, config: dict) -> Path:
    meta = {"format": FORMAT, "step": "1", "extra": json.dumps({"task": "segmentation"}),
            "modules": json.dumps({"model": {"kind": "dannet_segmenter", "config": config}})}
    save_file({"model.dummy": torch.zeros(1)}, str(path), metadata=meta)
    return path


SEG = {"num_classes": 3, "channels": [4, 8, 16], "head_channels": 8, "bins": [1, 2]}


@pytest.mark.parametrize("kind", ["dannet_segmenter", "relight", "os:system", "training.models.dannet"])
def test_inner_segmenter_kind_must_be_a_plain_segmenter(tmp_path: Path, kind: str):
    path = _checkpoint(tmp_path / "m.safetensors", {"segmenter_kind": kind, "segmenter_kwargs": {},
                                                   "relight_kwargs": None, "class_weights": [1.0, 1.0, 1.0]})
    # one error naming the file (CheckpointError: what the CLI prints as one line) and the reason
    with pytest.raises(CheckpointError, match=r"m\.safetensors.*segmenter_kind"):
        load_modules(path, ["model"])


@pytest.mark.parametrize("weights", [[1.0, -1.0, 1.0], [1.0, 0.0, 1.0], [float("nan"), 1.0, 1.0]])
def test_non_positive_reweighting_is_refused(tmp_path: Path, weights: list[float]):
    path = _checkpoint(tmp_path / "m.safetensors", {"segmenter_kind": "erf_pspnet", "segmenter_kwargs": SEG,
                                                   "relight_kwargs": None, "class_weights": weights})
    with pytest.raises(CheckpointError, match=r"m\.safetensors.*class_weights"):
        load_modules(path, ["model"])
