"""experiment rain: every method x condition lands in results.json / results.md; reruns skip."""

from __future__ import annotations

import json

from training.__main__ import main as training_main
from training.segmenter.experiment_config import CONDITIONS, METHODS

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
    assert (out / "rainified" / "leftImg8bit" / "train").is_dir()
    report = (out / "results.md").read_text()
    assert "Fine-tuned on DSANet-rainified (Ours)" in report and "Per-class IoU" in report
    # A second run finds every stage done and reproduces the table.
    mtime = (out / "erf" / "ours" / "checkpoints" / "latest").stat().st_mtime
    assert training_main(argv) == 0
    assert json.loads((out / "results.json").read_text())["results"]["erf"] == results
    assert (out / "erf" / "ours" / "checkpoints" / "latest").stat().st_mtime == mtime


def test_experiment_without_dsanet(tmp_path):
    """Methods and conditions that need no DSANet run without one (and without training.dsanet)."""
    scenes = write_scenes_root(tmp_path / "scenes")
    out = tmp_path / "exp"
    argv = ["experiment", "rain", f"out={out}", f"scenes.root={scenes}",
            "segmenters=[{name: erf, model: {kind: erf_pspnet, kwargs: {channels: [8, 16, 32], "
            "head_channels: 16}}}]", "methods=[baseline, physical_rain]", "conditions=[clean, rendered_rain]",
            "pretrain_steps=4", "finetune_steps=2", "batch_size=2", "crop_size=[32, 64]", "device=cpu",
            "train_overrides=[num_workers=0, tensorboard=false, log_every=1]"]
    assert training_main(argv) == 0
    summary = json.loads((out / "results.json").read_text())
    assert summary["dsanet"] == "" and not (out / "dsanet").exists()
    assert set(summary["results"]["erf"]) == {"baseline", "physical_rain"}
    assert set(summary["results"]["erf"]["baseline"]) == {"clean", "rendered_rain"}
    stages = [json.loads(line)["stage"] for line in (out / "stages.jsonl").read_text().splitlines()]
    assert "erf/pretrain" in stages and "erf/physical_rain" in stages
    assert "rendered rain mIoU" in (out / "results.md").read_text()
