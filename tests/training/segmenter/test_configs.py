"""Every segmenter / experiment YAML under config/training resolves against its schema."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.engine.config import resolve_config
from training.segmenter.config import TrainSegmenterConfig
from training.segmenter.experiment_config import ExperimentConfig

CONFIG_DIR = Path(__file__).resolve().parents[3] / "config" / "training"
SEGMENTER = sorted(p for p in CONFIG_DIR.glob("*.yaml")
                   if p.name.startswith(("segformer", "deeplabv3", "erf")))


@pytest.mark.parametrize("path", SEGMENTER, ids=lambda p: p.name)
def test_segmenter_config_resolves(path):
    cfg = resolve_config(TrainSegmenterConfig, path)
    assert cfg.model.kind in path.name.replace("-", "_") and cfg.train and cfg.steps > 0


def test_experiment_config_resolves():
    cfg = resolve_config(ExperimentConfig, CONFIG_DIR / "experiment-rain_synth-128x256.yaml")
    assert [s.model.kind for s in cfg.segmenters] == ["segformer", "deeplabv3"]
    assert len(SEGMENTER) >= 8
