"""Every CycleGAN and night-experiment YAML under config/training resolves against its schema."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.cyclegan.config import CycleGANTrainConfig
from training.cyclegan.experiment_config import NightExperimentConfig
from training.engine.config import resolve_config

CONFIG_DIR = Path(__file__).resolve().parents[3] / "config" / "training"


@pytest.mark.parametrize("path", sorted(CONFIG_DIR.glob("cyclegan*.yaml")), ids=lambda p: p.name)
def test_cyclegan_config_resolves(path):
    cfg = resolve_config(CycleGANTrainConfig, path)
    assert cfg.steps > 0 and cfg.data.crop[0] % 2 ** cfg.model.gen_down == 0


@pytest.mark.parametrize("path", sorted(CONFIG_DIR.glob("experiment-night*.yaml")), ids=lambda p: p.name)
def test_night_experiment_config_resolves(path):
    cfg = resolve_config(NightExperimentConfig, path)
    assert len(cfg.seeds) == 3 and {s.model.kind for s in cfg.segmenters} >= {"erf_pspnet"}
    resolve_config(CycleGANTrainConfig, cfg.cyclegan.config, cfg.cyclegan.overrides)
