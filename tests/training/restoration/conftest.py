"""Fixtures of the mask-restoration tests: one tiny procedural scene set per session, tiny
configs, and a random-weight segmenter / SPADE checkpoint written with the real formats."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from rain_seg_ros.labels import CITYSCAPES_CLASSES, IMAGENET_MEAN, IMAGENET_STD
from training.engine import checkpoint as ckpt

SIZE = (32, 64)
TINY_G = ["generator.base_channels=4", "generator.num_up=3", "generator.hidden=8"]
TINY = [*TINY_G, "data.size=[32, 64]", "data.num_workers=0", "batch_size=2", "progress=false",
        "log_every=1", "image_every=1", "cpu_threads=1", "device=cpu"]
TINY_D = ["discriminator.base_channels=4", "discriminator.num_layers=2", "discriminator.num_d=2"]


@pytest.fixture(scope="session")
def scenes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from training.commands.generate_scenes import main as generate

    out = tmp_path_factory.mktemp("restoration") / "scenes"
    assert generate(["--out", str(out), "--count", "8", "--size", f"{SIZE[0]}x{SIZE[1]}", "--seed", "3",
                     "--splits", "train=0.5,val=0.25,test=0.25", "--quiet"]) == 0
    return out


@pytest.fixture(scope="session")
def segmenter_ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random-weight ERF-PSPNet in the train-segmenter checkpoint format."""
    from training.models import build_model

    spec = ckpt.ModuleSpec("erf_pspnet", {"num_classes": 19, "channels": [8, 16, 24], "head_channels": 8})
    torch.manual_seed(0)
    model = build_model(spec.kind, spec.config)
    meta = {"task": "segmentation", "num_classes": 19, "class_names": list(CITYSCAPES_CLASSES),
            "ignore_index": 255, "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD),
            "input_size": list(SIZE)}
    root = tmp_path_factory.mktemp("segmenter") / "checkpoints"
    return ckpt.save_checkpoint(root, 1, {"model": (spec, model)}, extra_meta=meta)


@pytest.fixture(scope="session")
def spade_ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random-weight SPADE generator in the train-spade checkpoint format (labelIds)."""
    from training.engine.config import resolve_config
    from training.models import build_model
    from training.restoration.config import SpadeTrainConfig
    from training.restoration.spade_trainer import module_specs

    cfg = resolve_config(SpadeTrainConfig, None, [*TINY, *TINY_D])
    specs = module_specs(cfg)
    torch.manual_seed(1)
    nets = {n: (s, build_model(s.kind, s.config)) for n, s in specs.items()}
    meta = {"task": "spade", "labels": "label_ids", "num_classes": 34, "size": list(SIZE)}
    return ckpt.save_checkpoint(tmp_path_factory.mktemp("spade") / "checkpoints", 1, nets, extra_meta=meta)
