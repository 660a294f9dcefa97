"""The condition must-show run, one command: a procedural clear -> rain -> night drive replayed
through segmentation_node with each single model and with the switching graph (and smoothing),
one table of overall and per-condition mIoU, label flicker, estimator accuracy and overheads.

    python scripts/condition_drive.py --out runs/condition_drive \\
        --clear-model artifacts/seg_clear.onnx --rain-model artifacts/seg_rain.onnx \\
        --night-model artifacts/seg_night.onnx --condition-model artifacts/condition.onnx \\
        --frames-per-condition 40 --size 128x256 --smoothing-alpha 0.6

It takes exported models (train them with train-segmenter / train-dannet / train-condition and
`python -m export onnx`); it trains nothing. Runs, each a replay_eval with its own node process:
`clear`, `rain`, `night` (that model alone, no estimator), `switching` (model_path = the clear
model, the estimator and the rain/night models, hysteresis --hold-frames) and, with
--smoothing-alpha > 0, `switching+smoothing`. Writes OUT/drive_bag (+ drive_bag.json, its seed
and size: a later call with the same --out and other drive flags is refused),
OUT/<run>/report.{json,md} and OUT/summary.{json,md}. Every ROS process stays on this machine
(ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST, its own ROS_DOMAIN_ID unless one is set).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # training and rain_seg_ros from this checkout, as scripts/demo.py does
RUNS = ("clear", "rain", "night", "switching", "switching+smoothing")


def build_parser() -> argparse.ArgumentParser:
    from training.commands.generate_scenes import parse_size

    p = argparse.ArgumentParser(prog="condition_drive", description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, required=True)
    for name in ("clear", "rain", "night", "condition"):
        p.add_argument(f"--{name}-model", required=True, help=f"exported {name} model (.onnx + sidecar)")
    p.add_argument("--frames-per-condition", type=int, default=40)
    p.add_argument("--size", type=parse_size, default=(128, 256), help="HxW of the drive")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--hold-frames", type=int, default=3, help="switch_hold_frames of the switching runs")
    p.add_argument("--smoothing-alpha", type=float, default=0.6, help="0: no switching+smoothing run")
    p.add_argument("--runs", default=",".join(RUNS), help=f"subset of {','.join(RUNS)}")
    p.add_argument("--backend", default="onnxruntime")
    return p


def replay_args(opts: argparse.Namespace, run: str, bag: Path) -> list[str]:
    base = [str(bag), "--image-topic", "/camera/image_raw", "--gt-topic", "/camera/gt_mask", "--rate", "0",
            "--backend", opts.backend, "--no-bag", "--out", str(opts.out / run)]
    if run in ("clear", "rain", "night"):
        return base + ["--model", getattr(opts, f"{run}_model")]
    args = base + ["--model", opts.clear_model, "--condition-model", opts.condition_model,
                   "--models", f"rain:{opts.rain_model},night:{opts.night_model}",
                   "--switch-hold-frames", str(opts.hold_frames)]
    return args + (["--smoothing-alpha", str(opts.smoothing_alpha)] if run == "switching+smoothing" else [])


def summarise(run: str, report: dict[str, Any]) -> dict[str, Any]:
    cond = report.get("conditions", {})
    node = report.get("node_diagnostics") or {}
    return {"run": run, "miou": report.get("scores", {}).get("miou"),
            "per_condition_miou": {c: s["miou"] for c, s in cond.get("per_condition_scores", {}).items()},
            "flip_share": cond.get("temporal_consistency", {}).get("flip_share"),
            "estimator_accuracy": (cond.get("estimator") or {}).get("accuracy"),
            "switches": len(cond.get("switch_log", [])),
            "latency_mean_ms": report["latency_ms"]["mean"],
            "condition_mean_ms": node.get("condition_mean_ms"),
            "smoothing_mean_ms": node.get("smoothing_mean_ms")}


def markdown(rows: list[dict[str, Any]]) -> str:
    def f(v: Any, spec: str = ".4f") -> str:
        return "-" if v is None else format(float(v), spec)

    lines = ["| run | mIoU | clear | rain | night | flip share | estimator acc. | switches "
             "| latency ms | condition ms | smoothing ms |", "|---|" + "---:|" * 10]
    for r in rows:
        per = r["per_condition_miou"]
        lines.append(f"| {r['run']} | {f(r['miou'])} | {f(per.get('clear'))} | {f(per.get('rain'))} "
                     f"| {f(per.get('night'))} | {f(r['flip_share'])} | {f(r['estimator_accuracy'], '.1%')} "
                     f"| {r['switches']} | {f(r['latency_mean_ms'], '.1f')} "
                     f"| {f(r['condition_mean_ms'], '.2f')} | {f(r['smoothing_mean_ms'], '.2f')} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    opts = build_parser().parse_args(argv)
    runs = [r for r in opts.runs.split(",") if r]
    if unknown := [r for r in runs if r not in RUNS]:
        print(f"condition_drive: --runs {unknown} not among {', '.join(RUNS)}", file=sys.stderr)
        return 1
    if opts.smoothing_alpha <= 0:
        runs = [r for r in runs if r != "switching+smoothing"]
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    os.environ.setdefault("ROS_DOMAIN_ID", str(40 + os.getpid() % 50))
    from rain_seg_ros.replay.replay_eval import main as replay_eval
    from training.scenes.drive import DriveSpec, write_drive_bag

    opts.out.mkdir(parents=True, exist_ok=True)
    bag, record = opts.out / "drive_bag", opts.out / "drive_bag.json"
    # A drive rendered by an earlier call is reused only if it is the drive asked for: a bag of
    # another size, length or seed would otherwise be scored silently under this call's flags.
    n = opts.frames_per_condition
    wanted = {"seed": opts.seed, "size": list(opts.size), "frames_per_condition": n}
    if bag.exists():
        found = json.loads(record.read_text()) if record.is_file() else "an unrecorded drive"
        if found != wanted:
            print(f"condition_drive: {bag} holds {found}, not {wanted}: give a new --out or delete {bag}",
                  file=sys.stderr)
            return 1
    else:
        spec = DriveSpec(height=opts.size[0], width=opts.size[1], frames=3 * n,
                         segments=(("clear", n), ("rain", n), ("night", n)))
        write_drive_bag(bag, opts.seed, spec, progress=True)
        record.write_text(json.dumps(wanted))
    rows = []
    for run in runs:
        if replay_eval(replay_args(opts, run, bag)) != 0:
            print(f"condition_drive: the {run} run failed (its error is above)", file=sys.stderr)
            return 1
        rows.append(summarise(run, json.loads((opts.out / run / "report.json").read_text())))
    (opts.out / "summary.json").write_text(json.dumps(rows, indent=2))
    (opts.out / "summary.md").write_text(markdown(rows))
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
