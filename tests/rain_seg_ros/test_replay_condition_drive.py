"""scripts/condition_drive.py (the condition must-show run) at toy size with stand-in models, so
the one command cannot rot: a 3-segment drive, a single-model run and the switching run."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

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
    models = {name: write_band_model(tmp_path / f"{name}.onnx", classes)
              for name, classes in (("clear", (0, 8, 10)), ("rain", (10, 8, 0)), ("night", (8, 0, 10)))}
    args = ["--out", str(tmp_path / "run"), "--frames-per-condition", "2", "--size", "32x64",
            "--condition-model", str(write_stripe_condition(tmp_path / "cond.onnx")),
            "--runs", "clear,switching", "--hold-frames", "1"]
    args += [a for name, path in models.items() for a in (f"--{name}-model", str(path))]
    assert _script().main(args) == 0
    rows = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert [r["run"] for r in rows] == ["clear", "switching"]
    for row in rows:
        report = json.loads((tmp_path / "run" / row["run"] / "report.json").read_text())
        assert row["miou"] == report["scores"]["miou"] and 0 <= row["miou"] <= 1
        assert set(row["per_condition_miou"]) == {"clear", "rain", "night"}
        assert report["conditions"]["true_conditions"] == {"clear": 2, "rain": 2, "night": 2}
    assert rows[0]["estimator_accuracy"] is None and rows[1]["estimator_accuracy"] is not None
    assert rows[1]["condition_mean_ms"] is not None
    assert "| switching |" in (tmp_path / "run" / "summary.md").read_text()


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
    first = sorted((tmp_path / "drive_bag").iterdir())
    assert _script().main([*base, "--size", "32x64"]) == 0  # the same drive: reused
    assert _script().main([*base, "--size", "32x96"]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert str(tmp_path / "drive_bag") in err and "--out" in err and "[32, 96]" in err
    assert sorted((tmp_path / "drive_bag").iterdir()) == first
