"""`make demo` end to end at minimal size (scripts/demo.py --quick): every stage runs for real,
the replay goes through segmentation_node over DDS on loopback, and the outputs are complete."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.ros
@pytest.mark.timeout(420)
def test_quick_demo_produces_reports_strip_and_summary(tmp_path: Path):
    out = tmp_path / "demo"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}  # conftest put DDS on loopback with its own domain
    run = subprocess.run([sys.executable, str(REPO / "scripts" / "demo.py"), "--quick", "--out", str(out)],
                         env=env, cwd=REPO, capture_output=True, text=True, timeout=400)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]

    commands = (out / "commands.sh").read_text()
    for cmd in ("generate-scenes", "make-drive-bag", "train-dsanet", "rainify", "train-segmenter",
                "train-condition", "export onnx", "export verify", "replay_eval", "--condition-model"):
        assert cmd in commands
    assert "--conditions clear:4,rain:4,night:4" in commands and "variant: night" in commands
    assert f"ROS_DOMAIN_ID=${{ROS_DOMAIN_ID:-{os.environ['ROS_DOMAIN_ID']}}}" in commands

    frames = len(list((out / "drive_frames").glob("*.png")))
    assert frames == 12
    for name in ("clean", "rain", "night", "switching"):
        report = json.loads((out / f"replay_{name}" / "report.json").read_text())
        assert (out / f"replay_{name}" / "report.md").is_file()
        assert (out / f"replay_{name}" / "latency.png").is_file()
        assert (out / f"replay_{name}" / "masks_bag").is_dir()
        miou = report["scores"]["miou"]
        assert isinstance(miou, float) and 0.0 <= miou <= 1.0 and not math.isnan(miou)
        assert report["run"]["frames_sent"] == frames
        assert report["scores"]["frames_scored"] >= 1
        assert report["conditions"]["true_conditions"] == {"clear": 4, "rain": 4, "night": 4}
    for name in ("erf-pspnet_clean", "erf-pspnet_rain", "erf-pspnet_night", "condition"):
        assert (out / "models" / f"{name}.onnx").is_file()
    published = json.loads((out / "replay_switching" / "report.json").read_text())["conditions"]["published"]
    assert len(published) == frames and {p["active_model"] for p in published} <= {"default", "rain", "night"}

    strip = np.asarray(Image.open(out / "overlay_strip.png"))
    # a header, then per condition a caption bar (16 px) over 6 panels of 128x256
    assert strip.shape[:2] == (18 + 3 * (16 + 128), 6 * 256)
    summary = json.loads((out / "summary.json").read_text())
    text = (out / "summary.md").read_text()
    for name in ("clean", "rain", "night", "switching"):
        assert isinstance(summary[f"miou_{name}"], float) and f"{100 * summary[f'miou_{name}']:.1f}" in text
    rainy = summary["miou_per_condition_rain"]["rain"] - summary["miou_per_condition_clean"]["rain"]
    assert f"on the rain part ({100 * rainy:+.1f} mIoU points)" in text


def _load_demo_script(monkeypatch: pytest.MonkeyPatch):  # noqa: ANN202 - the script as a module
    monkeypatch.syspath_prepend(str(REPO / "scripts"))  # demo.py imports demo_report from its folder
    spec = importlib.util.spec_from_file_location("demo_script", REPO / "scripts" / "demo.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "demo_script", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_seed_reaches_every_training_in_commands_sh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """--seed N: each training command written to commands.sh carries seed=N and rainify --seed N;
    the scene and drive generators keep their own seeds. Commands are recorded, not run."""
    demo_script = _load_demo_script(monkeypatch)
    ran: list[list[str]] = []

    def fake_run(cmd, **kwargs):  # noqa: ANN001, ANN003, ANN202 - stands in for subprocess.run
        ran.append(cmd)
        return subprocess.CompletedProcess(cmd, 0, stdout="{}")

    monkeypatch.setattr(demo_script.subprocess, "run", fake_run)
    demo = demo_script.Demo(tmp_path / "demo", seed=7)
    sz = demo_script.QUICK
    scenes = tmp_path / "scenes"
    demo_script.stage_drive(demo, sz)
    rainified = demo_script.stage_dsanet(demo, sz, scenes)
    demo_script.stage_segmenters(demo, sz, scenes, rainified)
    demo_script.stage_condition(demo, sz, scenes)
    assert demo.summary["seed"] == 7

    lines = [shlex.split(line) for line in (demo.out / "commands.sh").read_text().splitlines()
             if line.startswith("python -m")]
    assert [line[2:] for line in lines] == [cmd[2:] for cmd in ran]  # the file records what ran
    trainings = [line for line in lines if line[3].startswith("train-")]
    assert [line[3] for line in trainings] == ["train-dsanet"] + ["train-segmenter"] * 4 + ["train-condition"]
    # the clean-trained and rain-fine-tuned models: one start, one recipe, as many steps; they differ
    # only in the rainified half of the training data
    base, clean, rain, night = trainings[1:5]
    (base_out,) = [a for a in base if a.startswith("out=")]
    start = "init_checkpoint=" + base_out.removeprefix("out=")
    assert start in clean and start in rain and start in night
    assert "init_checkpoint" not in " ".join(base)
    differ = [(a, b) for a, b in zip(clean, rain, strict=True) if a != b]
    configs = ("config/training/erf-pspnet_demo-clean-finetune_synth-128x256.yaml",
               "config/training/erf-pspnet_demo-rain-finetune_synth-128x256.yaml")
    keys = [(a.split("=")[0], b.split("=")[0]) for a, b in differ]
    assert keys == [configs, ("train", "train"), ("out", "out")]
    assert str(rainified) in differ[1][1] and str(rainified) not in differ[1][0]
    for line in trainings:
        assert [a for a in line if a.startswith("seed=")] == ["seed=7"], line
    (rainify,) = [line for line in lines if line[3] == "rainify"]
    assert rainify[rainify.index("--seed") + 1] == "7"
    (drive,) = [line for line in lines if line[3] == "make-drive-bag"]
    assert drive[drive.index("--seed") + 1] == "3"  # the drive, the test set, does not move with --seed
    assert "--seed 7" in (demo.out / "commands.sh").read_text()


def test_clean_and_rain_finetune_configs_share_their_recipe():
    """The demo's clean-trained model is the rain fine-tune without the rainified data: the two
    resolved configs differ in the training data and the output dir only."""
    from training.engine.config import config_to_dict, resolve_config
    from training.segmenter.config import TrainSegmenterConfig

    cfg = "config/training/erf-pspnet_demo-{}_synth-128x256.yaml"
    clean, rain, start = (config_to_dict(resolve_config(TrainSegmenterConfig, REPO / cfg.format(name)))
                          for name in ("clean-finetune", "rain-finetune", "clean"))
    assert sorted(k for k in clean if clean[k] != rain[k]) == ["out", "train"]
    assert [d["root"] for d in clean["train"]] == ["out/demo/scenes"]
    assert [d["root"] for d in rain["train"]] == ["out/demo/scenes", "out/demo/scenes_rainified"]
    assert clean["init_checkpoint"] == rain["init_checkpoint"] == start["out"]


def test_given_dsanet_is_used_for_rainify_and_not_trained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """--dsanet RUN: no train-dsanet command; rainify reads RUN. Commands are recorded, not run."""
    demo_script = _load_demo_script(monkeypatch)
    ran: list[list[str]] = []
    monkeypatch.setattr(demo_script.subprocess, "run",
                        lambda cmd, **kw: ran.append(cmd) or subprocess.CompletedProcess(cmd, 0, stdout="{}"))
    demo = demo_script.Demo(tmp_path / "demo", seed=1)
    trained = tmp_path / "my_dsanet"
    demo_script.stage_dsanet(demo, demo_script.QUICK, tmp_path / "scenes", trained)
    assert [cmd[3] for cmd in ran] == ["rainify"]
    assert ran[0][ran[0].index("--dsanet") + 1] == str(trained)


def test_missing_dsanet_is_a_one_line_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]):
    demo_script = _load_demo_script(monkeypatch)
    with pytest.raises(SystemExit):
        demo_script.main(["--out", str(tmp_path / "d"), "--dsanet", str(tmp_path / "nope")])
    assert "--dsanet" in capsys.readouterr().err and not (tmp_path / "d").exists()
