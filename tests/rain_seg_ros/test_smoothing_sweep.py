"""scripts/smoothing_sweep.py against the real node: on a tiny condition drive, the emulated
switching graph and one smoothing setting (with DIS flow) must give the mIoU and flip share that
condition_drive.py's replays through segmentation_node give, to rounding."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from .condition_node_fixtures import write_band_model, write_stripe_condition

pytestmark = pytest.mark.ros
SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sweep_reproduces_the_node_replays(tmp_path: Path):
    models = {name: write_band_model(tmp_path / f"{name}.onnx", classes)
              for name, classes in (("clear", (0, 8, 10)), ("rain", (10, 8, 0)), ("night", (8, 0, 10)))}
    common = ["--frames-per-condition", "4", "--size", "32x64", "--seeds", "1", "--hold-frames", "2",
              "--condition-model", str(write_stripe_condition(tmp_path / "cond.onnx")),
              "--map", "clear:clear,rain:rain,night:night"]
    common += [a for name, path in models.items() for a in (f"--{name}-model", str(path))]
    run = tmp_path / "run"
    node = ["--out", str(run), "--runs", "switching,switching+smoothing", "--smoothing-alpha", "0.6",
            "--smoothing-keep-below", "0.9", "--smoothing-reset-difference", "60", "--smoothing-flow",
            "--smoothing-flow-method", "dis_fast", "--smoothing-flow-width", "32"]
    assert _load("condition_drive").main(common + node) == 0
    sweep = ["--drives", str(run), "--out", str(tmp_path / "sweep"), "--alphas", "0.6",
             "--keep-below", "0.9", "--resets", "60", "--flows", "dis_fast@32"]
    assert _load("smoothing_sweep").main(common + sweep) == 0   # reuses the node's drive bag
    got = json.loads((tmp_path / "sweep.json").read_text())
    rows = {r["run"]: r for r in json.loads((run / "summary.json").read_text())["test"]["1"]}
    plain, smooth = rows["switching"], rows["switching+smoothing"]
    assert smooth["flip_share"] < plain["flip_share"]   # the setting does something to compare
    assert got["switching"]["1"]["miou"] == pytest.approx(plain["miou"], abs=1e-9)
    assert got["switching"]["1"]["flip_share"] == pytest.approx(plain["flip_share"], abs=1e-9)
    assert got["switching"]["1"]["switches"] == plain["switches"]
    emulated = got["settings"][0]["drives"]["1"]
    assert emulated["miou"] == pytest.approx(smooth["miou"], abs=1e-9)
    assert emulated["flip_share"] == pytest.approx(smooth["flip_share"], abs=1e-9)
    cut = 100 * (1 - smooth["flip_share"] / plain["flip_share"])
    assert emulated["flicker_cut_pct"] == pytest.approx(cut)
    assert "| dis_fast@32 | 60 | 0.6 | 0.9 |" in (tmp_path / "sweep.md").read_text()


def test_bad_flow_item_is_one_line(tmp_path: Path, capsys):
    args = ["--drives", str(tmp_path), "--seeds", "1", "--alphas", "0.5", "--flows", "lucas@64",
            "--map", "clear:clear,rain:rain,night:night", "--out", str(tmp_path / "s")]
    args += [a for n in ("clear", "rain", "night", "condition") for a in (f"--{n}-model", "x.onnx")]
    with pytest.raises(SystemExit):
        _load("smoothing_sweep").main(args)
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "--flows" in err and "lucas@64" in err


def _row(flow: str, alpha: float, keep: float, cuts: tuple[float, float], gains: tuple[float, float],
         ms: float = 1.0) -> dict:
    return {"flow": flow, "reset_difference": 40.0, "alpha": alpha, "keep_below": keep,
            "drives": {s: {"flicker_cut_pct": c, "miou_change_points": g, "ms_per_frame": ms}
                       for s, c, g in zip(("10", "11"), cuts, gains)}}


def test_choose_prefers_a_plateau_to_an_edge():
    sweep = _load("smoothing_sweep")
    rows = [  # off: 0.5 is the best alone (slack min(15/30, 0.8) = 0.5) but its neighbour 0.6 fails
        _row("off", 0.5, 0.5, (45, 48), (-0.2, -0.1)), _row("off", 0.5, 0.6, (50, 50), (-1.5, -0.3)),
        # dis: every setting feasible; worst slack of 0.5 with its neighbour: min(0.2, 0.3) = 0.2
        _row("dis", 0.5, 0.5, (36, 40), (-0.5, -0.5)), _row("dis", 0.5, 0.6, (39, 40), (-0.7, -0.6)),
        # the highest slack of all, but 9 ms a frame: refused
        _row("slow", 0.5, 0.5, (60, 60), (0.0, 0.0), ms=9.0),
        _row("slow", 0.5, 0.6, (60, 60), (0.0, 0.0), ms=9.0)]
    result = {"seeds": [10, 11], "settings": rows}
    # by hand: slack(dis 0.5/0.5) = min(6/30, 0.5) = 0.2; its neighbour dis 0.5/0.6: min(9/30, 0.3) = 0.3
    assert sweep.slack(rows[2], ["10", "11"], 30.0, -1.0) == pytest.approx(0.2)
    assert sweep.slack(rows[1], ["10", "11"], 30.0, -1.0) == pytest.approx(-0.5)
    chosen = sweep.choose(result)
    assert (chosen["flow"], chosen["keep_below"]) == ("dis", 0.5)
    assert chosen["plateau_slack"] == pytest.approx(0.2)
    for row in rows[2:4]:
        row["drives"]["11"]["miou_change_points"] = -1.2   # no feasible setting left but the edge one
    assert sweep.choose(result)["flow"] == "off"
    rows[0]["drives"]["10"]["flicker_cut_pct"] = 29.0
    assert sweep.choose(result) is None
