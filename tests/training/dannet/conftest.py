"""Fixtures of the DANNet tests: tiny procedural day/night twins and a tiny run config."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.commands.generate_scenes import main as generate_scenes


@pytest.fixture(scope="session")
def night_scenes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """generate-scenes --night at 32x64: 8 train, 2 val, 2 test day/night twins (about a second)."""
    root = tmp_path_factory.mktemp("dannet") / "scenes"
    argv = ["--out", str(root), "--count", "12", "--size", "32x64", "--seed", "0", "--night",
            "--splits", "train=0.67,val=0.165,test=0.165", "--quiet"]
    assert generate_scenes(argv) == 0
    return root


def tiny_overrides(scenes: Path, out: Path, *extra: str) -> list[str]:
    """A seconds-long train-dannet run on the night twins (the synth config, smaller)."""
    return [f"source.root={scenes}", f"target.day.root={scenes}", f"target.night.root={scenes}",
            f"out={out}", "steps=4", "batch_size=2", "ckpt_every=2", "log_every=1", "image_every=2",
            "augment.crop_size=[32, 64]", "tensorboard=false", "progress=false", "target.misalign_px=2",
            "model.kwargs={channels: [4, 8, 16], head_channels: 8, bins: [1, 2]}",
            "relight.base_channels=4", "discriminator.channels=[8, 8, 8, 8, 1]", *extra]


SYNTH_CONFIG = "config/training/dannet_erf-pspnet_synth-64x128.yaml"
