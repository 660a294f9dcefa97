"""experiment dannet: the gain rule by hand, and a micro end-to-end run (training, table,
figures, and the night drive through segmentation_node) in seconds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from training.commands.experiment import main as experiment_main
from training.dannet.report import summarise
from training.seed_stats import mean_std, verdict


def test_mean_std_and_gain_rule_by_hand():
    assert mean_std([20.0, 22.0, 24.0]) == pytest.approx((22.0, 2.0))     # sample std
    assert verdict((20.0, 1.0), (22.5, 1.0)) == "gain"                      # +2.5 > 1 + 1
    assert verdict((20.0, 1.0), (21.5, 1.0)) == "within seed spread"        # +1.5 <= 2
    assert verdict((20.0, 1.0), (17.0, 0.5)) == "drop"
    runs = {"source_only": {"0": {"night": 20.0, "day": 50.0}, "1": {"night": 22.0, "day": 52.0}},
            "light": {"0": {"night": 21.0, "day": 50.0}, "1": {"night": 23.0, "day": 51.0}},
            "oracle": {"0": {"night": 40.0, "day": 30.0}, "1": {"night": 40.0, "day": 30.0}}}
    rows = summarise(runs)
    assert rows["light"]["step_diff"] == pytest.approx(1.0)
    assert rows["light"]["step"] == "within seed spread"     # +1 vs spread 1.414 + 1.414
    assert "step" not in rows["oracle"] and "step" not in rows["source_only"]
    one_seed = summarise({"source_only": {"0": {"night": 20.0, "day": 50.0}},
                          "full": {"0": {"night": 30.0, "day": 50.0}}})
    assert one_seed["full"]["step"] == "one seed: no spread"     # never "gain" without a spread


def test_micro_experiment_writes_the_table(night_scenes: Path, tmp_path: Path, capsys):
    from .conftest import tiny_overrides

    train = [o for o in tiny_overrides(night_scenes, tmp_path / "unused")
             if o.split("=")[0] not in ("source.root", "target.day.root", "target.night.root", "out", "steps",
                                        "target.misalign_px")]
    argv = ["dannet", "--config", "config/training/experiment-dannet_synth-64x128.yaml",
            f"out={tmp_path / 'exp'}", f"scenes.root={night_scenes}", "rows=[source_only, full]",
            "seeds=[0, 1]", "steps=2", "night_drive_frames=0",
            f"train_overrides={json.dumps(train)}", f"publish={tmp_path / 'docs' / 'dannet_results.md'}"]
    assert experiment_main(argv) == 0
    summary = json.loads((tmp_path / "exp" / "results.json").read_text())
    assert set(summary["runs"]) == {"source_only", "full"} and set(summary["runs"]["full"]) == {"0", "1"}
    full = summary["rows"]["full"]
    assert full["step_from"] == "source_only" and full["step"] in ("gain", "within seed spread", "drop")
    table = (tmp_path / "docs" / "dannet_results.md").read_text()
    assert "| full DANNet (+ adversarial) |" in table and " ± " in table and "2 points" in table
    assert (tmp_path / "docs" / "dannet_results_examples.png").is_file()
    # a second start finds every stage done
    assert experiment_main(argv) == 0


def test_night_drive_through_segmentation_node_with_the_dannet_export(night_scenes: Path, tmp_path: Path):
    """The experiment's last stage, with one model: make-drive-bag --condition night, export onnx,
    replay_eval starting segmentation_node (real DDS on loopback) - the runtime unchanged."""
    from training.dannet.config import TrainDANNetConfig
    from training.dannet.night_drive import replay_night_drive
    from training.dannet.report import write_report
    from training.dannet.trainer import train
    from training.engine.config import resolve_config

    from .conftest import SYNTH_CONFIG, tiny_overrides

    run = tmp_path / "full"
    train(resolve_config(TrainDANNetConfig, SYNTH_CONFIG, tiny_overrides(night_scenes, run, "steps=2")))
    drive = replay_night_drive(tmp_path, {"full": run}, size=(32, 64), frames=3)
    assert drive["full"]["frames_sent"] == 3 and drive["full"]["masks_received"] == 3
    assert drive["full"]["mIoU"] is not None and drive["full"]["latency_ms_p50"] > 0
    summary = {"rows": {}, "machine": {"platform": "p", "cpu_count": 2, "device": "cpu", "torch": "t"},
               "config": {"scenes": {"root": "r"}, "eval_split": "test", "misalign_px": 4,
                          "misalign_scale": 0.0, "steps": 2, "seeds": [0], "train_config": "c",
                          "night_drive_frames": 3},
               "scenes": "r", "test_frames": 2, "stage_seconds": {}, "night_drive": drive}
    write_report(summary, tmp_path / "results.md")
    assert "| full DANNet (+ adversarial) |" in (tmp_path / "results.md").read_text()
