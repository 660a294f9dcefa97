"""experiment rain: every method x condition lands in results.json / results.md; reruns skip."""

from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors.numpy import load_file

from training.__main__ import main as training_main
from training.engine import checkpoint as ckpt
from training.segmenter.experiment_config import CONDITIONS, METHODS
from training.segmenter.report import compare, paired_difference

from .dsanet_fixture import write_tiny_dsanet
from .layouts import write_scenes_root


def test_experiment_rain_tiny(tmp_path):
    scenes = write_scenes_root(tmp_path / "scenes")
    dsanet, _ = write_tiny_dsanet(tmp_path)
    out = tmp_path / "exp"
    argv = ["experiment", "rain", f"out={out}", f"scenes.root={scenes}", f"dsanet.checkpoint={dsanet}",
            f"dsanet.input1_checkpoint={dsanet}", "dsanet.styles=2",
            "segmenters=[{name: erf, model: {kind: erf_pspnet, kwargs: {channels: [8, 16, 32], "
            "head_channels: 16}}}]",
            "pretrain_steps=10", "finetune_steps=2", "batch_size=2", "crop_size=[32, 64]", "device=cpu",
            "train_overrides=[num_workers=0, tensorboard=false, log_every=1, lr=0.01, head_lr_mult=1.0]"]
    assert training_main(argv) == 0
    results = json.loads((out / "results.json").read_text())["results"]["erf"]
    assert set(results) == set(METHODS)
    for method in METHODS:
        for cond in CONDITIONS:
            assert 0.0 <= results[method][cond]["mIoU"] <= 100.0, (method, cond)
    # derain-then-segment scores the baseline model on other inputs than the baseline row.
    assert results["derain"]["clean"] != results["baseline"]["clean"]
    assert (out / "seed0" / "rainified" / "leftImg8bit" / "train").is_dir()
    report = (out / "results.md").read_text()
    assert "Fine-tuned on DSANet-rainified (Ours)" in report and "Per-class IoU" in report
    assert (out / "examples.png").stat().st_size > 1000
    # A second run finds every stage done and reproduces the table.
    mtime = (out / "seed0" / "erf" / "ours" / "checkpoints" / "latest").stat().st_mtime
    assert training_main(argv) == 0
    assert json.loads((out / "results.json").read_text())["results"]["erf"] == results
    assert (out / "seed0" / "erf" / "ours" / "checkpoints" / "latest").stat().st_mtime == mtime


def test_experiment_without_dsanet(tmp_path):
    """Methods and conditions that need no DSANet run without one (and without training.dsanet);
    two seeds: each its own runs, the table their mean ± std and seed-paired differences."""
    scenes = write_scenes_root(tmp_path / "scenes")
    out = tmp_path / "exp"
    argv = ["experiment", "rain", f"out={out}", f"scenes.root={scenes}",
            "segmenters=[{name: erf, model: {kind: erf_pspnet, kwargs: {channels: [8, 16, 32], "
            "head_channels: 16}}}]", "methods=[baseline, physical_rain]", "conditions=[clean, rendered_rain]",
            "pretrain_steps=4", "finetune_steps=2", "batch_size=2", "crop_size=[32, 64]", "device=cpu",
            "train_overrides=[num_workers=0, tensorboard=false, log_every=1]", "seeds=[0, 3]"]
    assert training_main(argv) == 0
    summary = json.loads((out / "results.json").read_text())
    assert summary["dsanet"] == "" and not (out / "seed0" / "dsanet").exists()
    assert summary["seeds"] == [0, 3]
    for method in ("baseline", "physical_rain"):
        for cond in ("clean", "rendered_rain"):
            runs = [json.loads((out / f"seed{s}" / "erf" / "eval" / f"{method}_{cond}.json").read_text())
                    for s in (0, 3)]
            entry = summary["results"]["erf"][method][cond]
            miou = np.array([r["mIoU"] for r in runs])
            assert entry["per_seed"] == {"0": runs[0]["mIoU"], "3": runs[1]["mIoU"]}
            assert entry["mIoU"] == pytest.approx(miou.mean())
            assert entry["mIoU_std"] == pytest.approx(miou.std(ddof=1))
    # The seed reaches the training: the two pre-trained models differ.
    weights = [load_file(ckpt.latest_step_dir(out / f"seed{s}" / "erf" / "pretrain" / "checkpoints")
                         / "model.safetensors") for s in (0, 3)]
    assert any(not np.array_equal(weights[0][k], weights[1][k]) for k in weights[0])
    assert set(summary["results"]["erf"]) == {"baseline", "physical_rain"}
    assert set(summary["results"]["erf"]["baseline"]) == {"clean", "rendered_rain"}
    stages = [json.loads(line)["stage"] for line in (out / "stages.jsonl").read_text().splitlines()]
    assert "seed3/erf/pretrain" in stages and "seed0/erf/physical_rain" in stages
    report = (out / "results.md").read_text()
    assert "rendered rain mIoU" in report and " ± " in report


def test_compare_rows_by_hand():
    """Differences over seeds against hand-computed numbers; a gain only beyond std_a + std_b."""
    def row(values):
        v = np.array(values)
        return {"mIoU": v.mean(), "mIoU_std": v.std(ddof=1), "per_seed": dict(zip("012", values))}

    a, b = row([30.0, 32.0, 34.0]), row([29.0, 30.0, 28.0])  # means 32 / 29, stds 2 / 1
    mean, std, ahead, n = paired_difference(a, b)
    diffs = np.array([1.0, 2.0, 6.0])
    assert (mean, ahead, n) == (pytest.approx(diffs.mean()), 3, 3) and std == pytest.approx(diffs.std(ddof=1))
    assert "+3.00 mIoU, within seed spread (spread 3.00)" in compare(a, b)   # 3 is not beyond 2 + 1
    assert "gain" in compare(row([33.0, 33.5, 34.0]), b)                        # 4.5 > 0.5 + 1
    assert "drop" in compare(b, row([33.0, 33.5, 34.0]))
    assert "one seed" in compare({"mIoU": 2.0}, {"mIoU": 1.0})
