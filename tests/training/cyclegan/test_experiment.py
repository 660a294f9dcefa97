"""`experiment night` at micro size: every stage runs, the table and plot are written, a rerun
reuses everything, and the summary's mean ± std matches the per-seed scores."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest

from training.cyclegan.experiment import run_night_experiment
from training.cyclegan.experiment_config import NightExperimentConfig
from training.engine.config import resolve_config

CONFIG_DIR = Path(__file__).resolve().parents[3] / "config" / "training"

MICRO = [
    "scenes.count=10", "scenes.size=[32, 64]", "scenes.splits=train=6,val=1,test=3",
    "cyclegan.overrides=[steps=2, save_every=2, batch_size=1, 'data.crop=[16, 16]', model.gen_channels=4, "
    "model.gen_blocks=1, model.disc_channels=4, model.disc_layers=2, data.num_workers=0, tensorboard=false]",
    "segmenters=[{name: erf-micro, model: {kind: erf_pspnet, "
    "kwargs: {channels: [4, 8, 16], head_channels: 8}}}]",
    "counts=[0, 0.5]", "seeds=[0, 1]", "steps=2", "batch_size=2", "crop_size=[32, 64]", "device=cpu",
    "train_overrides=[num_workers=0, tensorboard=false, log_every=1]",
]


def test_night_experiment_at_micro_size(tmp_path):
    cfg = resolve_config(NightExperimentConfig, CONFIG_DIR / "experiment-night_synth-64x128.yaml",
                         [f"out={tmp_path / 'exp'}", *MICRO, "methods=[baseline, method1, method2, oracle]"])
    summary = run_night_experiment(cfg)
    out = tmp_path / "exp"
    rows = summary["summary"]["erf-micro"]
    assert set(rows) == {"baseline", "method1", "method2@0.5", "oracle"}
    assert set(rows["method1"]) == {"night"} and set(rows["baseline"]) == {"night", "day"}
    per_seed = [summary["runs"]["erf-micro"]["oracle"][s]["night"]["mIoU"] for s in ("0", "1")]
    assert rows["oracle"]["night"]["mIoU"] == pytest.approx(
        [statistics.fmean(per_seed), statistics.stdev(per_seed), 2])
    # Method 2 trained on the day set + 0.5 x 6 = 3 translated images, written by translate
    manifest = (out / "translated_night" / "translate_manifest.jsonl").read_text().splitlines()
    assert len(manifest) == 10 and json.loads(manifest[0])["direction"] == "day2night"
    text = (out / "results.md").read_text()
    assert "Method 2: day + 0.5× translated night (G)" in text
    assert "within spread" in text or "beyond spread" in text
    assert (out / "count_sweep.png").stat().st_size > 1000
    psnr = summary["cyclegan_eval"]["cycle_psnr_db"]
    assert psnr["day_images"] == psnr["night_images"] == 3 and psnr["day"] > 0
    assert "cycle-reconstruction PSNR" in text and (out / "translations.png").is_file()
    assert json.loads((out / "results.json").read_text())["num_day_train"] == 6
    # a rerun finds every stage done and recomputes nothing
    stages_before = (out / "stages.jsonl").read_text().count("\n")
    again = run_night_experiment(cfg)
    assert again["summary"] == summary["summary"]
    reruns = [json.loads(line) for line in (out / "stages.jsonl").read_text().splitlines()[stages_before:]]
    assert all(r["seconds"] < 2.0 for r in reruns if "/eval_" not in r["stage"])


def test_dannet_without_checkpoints_is_one_clear_error(tmp_path):
    cfg = resolve_config(NightExperimentConfig, None, [f"out={tmp_path}", "methods=[baseline, dannet]"])
    with pytest.raises(ValueError, match="dannet.checkpoints"):
        run_night_experiment(cfg)
