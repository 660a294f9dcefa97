"""scripts/condition_drive.py (the condition must-show run) at toy size with stand-in models, so
the one command cannot rot: a validation drive that picks the map, two 3-segment test drives, a
single-model run and the switching run on each, and the map / spread arithmetic by hand."""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from .condition_node_fixtures import write_band_model, write_stripe_condition

pytestmark = pytest.mark.ros
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "condition_drive.py"


def _script():
    spec = importlib.util.spec_from_file_location("condition_drive", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_condition_drive_runs_and_summarises(tmp_path: Path):
    """Validation drive -> map -> two test drives -> per-seed tables and mean ± std."""
    models = {name: write_band_model(tmp_path / f"{name}.onnx", classes)
              for name, classes in (("clear", (0, 8, 10)), ("rain", (10, 8, 0)), ("night", (8, 0, 10)))}
    args = ["--out", str(tmp_path / "run"), "--frames-per-condition", "2", "--size", "32x64",
            "--condition-model", str(write_stripe_condition(tmp_path / "cond.onnx")),
            "--runs", "switching", "--hold-frames", "1", "--val-seed", "7", "--seeds", "1,2"]
    args += [a for name, path in models.items() for a in (f"--{name}-model", str(path))]
    assert _script().main(args) == 0
    run = tmp_path / "run"
    summary = json.loads((run / "summary.json").read_text())
    # The map, recomputed here from the validation replays' own reports: best model per condition.
    val = {m: json.loads((run / "val_seed7" / m / "report.json").read_text())["conditions"]
           ["per_condition_scores"] for m in ("clear", "rain", "night")}
    for condition, model in summary["map"].items():
        assert val[model][condition]["miou"] == max(v[condition]["miou"] for v in val.values())
    assert summary["map_chosen_on_seed"] == 7 and summary["seeds"] == [1, 2]
    assert [json.loads((run / f"seed{s}" / "drive_bag.json").read_text())["seed"] for s in (1, 2)] == [1, 2]
    for seed in ("1", "2"):
        rows = summary["test"][seed]
        assert [r["run"] for r in rows] == ["switching"]
        for row in rows:
            report = json.loads((run / f"seed{seed}" / row["run"] / "report.json").read_text())
            assert row["miou"] == report["scores"]["miou"] and 0 <= row["miou"] <= 1
            assert set(row["per_condition_miou"]) == {"clear", "rain", "night"}
            assert report["conditions"]["true_conditions"] == {"clear": 2, "rain": 2, "night": 2}
        assert rows[0]["estimator_accuracy"] is not None and rows[0]["condition_mean_ms"] is not None
    assert [r["run"] for r in summary["validation"]] == ["clear", "rain", "night"]
    assert all(r["estimator_accuracy"] is None for r in summary["validation"])  # single models: no estimator
    values = [summary["test"][s][0]["miou"] for s in ("1", "2")]
    assert summary["aggregate"][0]["miou"]["mean"] == pytest.approx(np.mean(values))
    assert summary["aggregate"][0]["miou"]["std"] == pytest.approx(np.std(values, ddof=1))
    text = (run / "summary.md").read_text()
    assert "| switching |" in text and "Validation drive, seed 7" in text and "Test drive, seed 2" in text


def test_choose_map_takes_the_best_model_per_condition():
    rows = [{"run": "clear", "per_condition_miou": {"clear": 0.40, "rain": 0.20, "night": 0.10}},
            {"run": "rain", "per_condition_miou": {"clear": 0.45, "rain": 0.30, "night": None}},
            {"run": "night", "per_condition_miou": {"clear": 0.45, "rain": 0.10, "night": 0.25}},
            {"run": "switching", "per_condition_miou": {"clear": 0.9, "rain": 0.9, "night": 0.9}}]
    # clear: rain and night tie at 0.45 -> the first in clear, rain, night order; a missing score loses
    assert _script().choose_map(rows) == {"clear": "rain", "rain": "rain", "night": "night"}
    rows[0]["per_condition_miou"]["clear"] = 0.45  # a tie with the condition's own model: it wins
    assert _script().choose_map(rows)["clear"] == "clear"


def test_switching_args_follow_the_map():
    script = _script()
    opts = script.build_parser().parse_args(
        ["--out", "o", "--clear-model", "c.onnx", "--rain-model", "r.onnx", "--night-model", "n.onnx",
         "--condition-model", "k.onnx", "--map", "clear:rain,rain:rain,night:night"])
    args = script.replay_args(opts, "switching", Path("bag"), Path("o"), opts.map)
    assert args[args.index("--model") + 1] == "r.onnx"  # clear frames: the rain model, as model_path
    assert args[args.index("--models") + 1] == "night:n.onnx"  # rain falls back to model_path
    assert args[args.index("--condition-model") + 1] == "k.onnx"
    for bad in ("clear:rain,rain:rain", "clear:fog,rain:rain,night:night",
                "clear:clear,clear:rain,night:night"):
        with pytest.raises(argparse.ArgumentTypeError, match="--map wants each of clear, rain, night once"):
            script.parse_map(bad)


def test_smoothing_flags_reach_only_the_smoothing_run():
    script = _script()
    common = ["--out", "o", "--clear-model", "c.onnx", "--rain-model", "r.onnx", "--night-model", "n.onnx",
              "--condition-model", "k.onnx"]
    opts = script.build_parser().parse_args(
        [*common, "--smoothing-alpha", "0.9", "--smoothing-keep-below", "0.45",
         "--smoothing-reset-difference", "20", "--smoothing-flow", "--smoothing-flow-method", "dis_fast",
         "--smoothing-flow-width", "256"])
    cmap = {"clear": "clear", "rain": "rain", "night": "night"}
    args = script.replay_args(opts, "switching+smoothing", Path("bag"), Path("o"), cmap)
    flags = ("--smoothing-alpha", "--smoothing-keep-below", "--smoothing-reset-difference",
             "--smoothing-flow", "--smoothing-flow-method", "--smoothing-flow-width")
    got = {flag: args[args.index(flag) + 1] for flag in flags}
    assert got == {"--smoothing-alpha": "0.9", "--smoothing-keep-below": "0.45",
                   "--smoothing-reset-difference": "20.0", "--smoothing-flow": "true",
                   "--smoothing-flow-method": "dis_fast", "--smoothing-flow-width": "256"}
    assert not any(a.startswith("--smoothing") for a in script.replay_args(opts, "switching", Path("bag"),
                                                                           Path("o"), cmap))
    plain = script.build_parser().parse_args(common)
    args = script.replay_args(plain, "switching+smoothing", Path("bag"), Path("o"), cmap)
    assert args[args.index("--smoothing-flow") + 1] == "false"
    assert args[args.index("--smoothing-keep-below") + 1] == "1.0"  # the node's default: every pixel votes


def test_smoothing_effect_is_paired_by_seed():
    def rows(flip: float, miou: float, flip_s: float, miou_s: float) -> list[dict]:
        return [{"run": "switching", "flip_share": flip, "miou": miou},
                {"run": "switching+smoothing", "flip_share": flip_s, "miou": miou_s}]
    # cuts 1 - 0.06/0.10 = 40 %, 1 - 0.035/0.05 = 30 %, 1 - 0.04/0.08 = 50 % (mean 40, std 10);
    # mIoU changes -1, 0, +0.4 points (mean -0.2, std sqrt(((-0.8)^2 + 0.2^2 + 0.6^2) / 2) = 0.72)
    per_seed = {0: rows(0.10, 0.50, 0.06, 0.49), 1: rows(0.05, 0.40, 0.035, 0.40),
                2: rows(0.08, 0.30, 0.04, 0.304)}
    assert _script().smoothing_effect(per_seed) == (
        "- smoothing (switching+smoothing vs switching, paired by seed): flicker cut +40.00 ± 10.00 % "
        "(per seed 40.0, 30.0, 50.0), mIoU -0.20 ± 0.72 points (per seed -1.00, +0.00, +0.40)")
    assert _script().smoothing_effect({0: rows(0.1, 0.5, 0.1, 0.5)[:1]}) is None  # no smoothing run


def test_verdicts_compare_against_the_spread():
    def rows(switching: float, clear: float, rain: float) -> list[dict]:
        return [{"run": "switching", "miou": switching, "per_condition_miou": {}},
                {"run": "clear", "miou": clear, "per_condition_miou": {}},
                {"run": "rain", "miou": rain, "per_condition_miou": {}}]
    per_seed = {0: rows(0.50, 0.40, 0.48), 1: rows(0.52, 0.41, 0.53), 2: rows(0.51, 0.42, 0.49)}
    for row in (r for rs in per_seed.values() for r in rs):
        row.update(flip_share=None, estimator_accuracy=None, switches=0)
    script = _script()
    agg = script.aggregate(per_seed)
    lines = script.verdicts(agg, per_seed)
    # switching 0.51 ± 0.01 vs clear 0.41 ± 0.01: apart; vs rain 0.50 ± 0.0265: within.
    # Paired differences: clear 0.10, 0.11, 0.09 (std 0.01); rain 0.02, -0.01, 0.02 (std sqrt(3e-4))
    assert lines == [
        "- switching vs clear: +10.00 ± 1.00 points (paired by seed), ahead on 3/3 seeds, "
        "beyond the spread of the two means",
        "- switching vs rain: +1.00 ± 1.73 points (paired by seed), ahead on 2/3 seeds, "
        "within the spread of the two means"]


def test_validation_seed_that_is_tested_is_refused(tmp_path: Path, capsys):
    args = ["--out", str(tmp_path), "--seeds", "0,1", "--val-seed", "1"]
    args += [a for n in ("clear", "rain", "night", "condition") for a in (f"--{n}-model", "x.onnx")]
    assert _script().main(args) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--val-seed 1" in err[0] and "--seeds" in err[0]
    assert not any(tmp_path.iterdir())


def test_unknown_run_is_one_line(tmp_path: Path, capsys):
    args = ["--out", str(tmp_path), "--runs", "fog"] + [a for n in ("clear", "rain", "night", "condition")
                                                        for a in (f"--{n}-model", "x.onnx")]
    assert _script().main(args) == 1
    assert "--runs ['fog']" in capsys.readouterr().err


def test_drive_of_other_flags_is_not_reused(tmp_path: Path, capsys):
    """A second call into the same --out with another --size must not score the first call's drive."""
    models = [a for n in ("clear", "rain", "night", "condition") for a in (f"--{n}-model", "x.onnx")]
    base = ["--out", str(tmp_path), "--runs=", "--frames-per-condition", "1", *models]  # no replays
    assert _script().main([*base, "--size", "32x64"]) == 0
    first = sorted((tmp_path / "seed0" / "drive_bag").iterdir())
    assert _script().main([*base, "--size", "32x64"]) == 0  # the same drive: reused
    assert _script().main([*base, "--size", "32x96"]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert str(tmp_path / "seed0" / "drive_bag") in err and "--out" in err and "[32, 96]" in err
    assert sorted((tmp_path / "seed0" / "drive_bag").iterdir()) == first
