"""The DSANet YAMLs resolve to the settings their documented runs were measured with.

The demo file inherits from the must-show file; a change there must not silently change the demo
(it did once: the must-show's residual rainify leaked into the demo, whose 150-step rain code
carries little rain on its own: called rainy 12 % of the time instead of 94-100 %, docs/dsanet.md).
"""

from __future__ import annotations

from pathlib import Path

from training.dsanet.config import DSANetTrainConfig
from training.engine.config import resolve_config
from training.segmenter.experiment_config import ExperimentConfig

CONFIG_DIR = Path(__file__).resolve().parents[3] / "config" / "training"


def test_demo_dsanet_keeps_its_measured_settings():
    cfg = resolve_config(DSANetTrainConfig, CONFIG_DIR / "dsanet_demo_synth-64x64.yaml")
    assert (cfg.rainify_output, cfg.derain_code, cfg.lr_schedule) == ("decoded", "zero", "cosine")
    assert (cfg.loss.layer, cfg.loss.adv_layer, cfg.loss.transfer) == (30.0, 0.0, 10.0)
    assert (cfg.loss.texture, cfg.loss.cross) == (20.0, 0.0)  # texture: the streak targets (docs/dsanet.md)
    assert (cfg.loss.bg, cfg.loss.rec, cfg.loss.norain, cfg.loss.adv) == (10.0, 10.0, 10.0, 0.02)
    assert (cfg.model.downsample, cfg.model.code_channels, cfg.model.norm,
            cfg.model.shortcut_upsample) == (2, 32, "instance", "features")
    assert (cfg.steps, cfg.batch_size, cfg.data.crop) == (150, 8, [64, 64])


def test_must_show_dsanet_recipe():
    cfg = resolve_config(DSANetTrainConfig, CONFIG_DIR / "dsanet_synth-128x128.yaml")
    assert (cfg.rainify_output, cfg.derain_code, cfg.lr_schedule) == ("residual", "zero", "cosine")
    assert cfg.steps == 3000
    assert (cfg.loss.layer, cfg.loss.adv_layer, cfg.loss.bg, cfg.loss.rec) == (60.0, 0.3, 100.0, 20.0)
    assert (cfg.model.norm, cfg.model.shortcut_upsample) == ("none", "features")


def test_rain_experiment_keeps_the_dsanet_weights_its_documented_run_used():
    """docs/experiment_rain.md was run with bg 50 / rec 10 / D_L 0.2; the must-show file moved on to
    100 / 20 / 0.3."""
    exp = resolve_config(ExperimentConfig, CONFIG_DIR / "experiment-rain_synth-128x256.yaml")
    for config in (exp.dsanet.config, exp.dsanet.input1_config):
        cfg = resolve_config(DSANetTrainConfig, Path(__file__).resolve().parents[3] / config,
                             list(exp.dsanet.overrides))
        assert (cfg.loss.bg, cfg.loss.rec, cfg.loss.layer, cfg.loss.adv_layer) == (50.0, 10.0, 60.0, 0.2)
        assert (cfg.data.crop, cfg.steps, cfg.rainify_output) == ([96, 96], 3000, "residual")
