"""The condition must-show run, one command: procedural clear -> rain -> night drives replayed
through segmentation_node with each single model and with the switching graph (and smoothing),
tables of overall and per-condition mIoU, label flicker, estimator accuracy and overheads.

    python scripts/condition_drive.py --out runs/condition_drive \\
        --clear-model artifacts/seg_clear.onnx --rain-model artifacts/seg_rain.onnx \\
        --night-model artifacts/seg_night.onnx --condition-model artifacts/condition.onnx \\
        --frames-per-condition 60 --size 128x256 --val-seed 10 --seeds 0,1,2 \\
        --smoothing-alpha 0.9 --smoothing-keep-below 0.45 --smoothing-reset-difference 20

It takes exported models (train them with train-segmenter / train-dannet / train-condition and
`python -m export onnx`); it trains nothing. The condition -> model map of the switching graph is
`--map` (default clear:clear,rain:rain,night:night) or, with --val-seed, chosen on a validation
drive of that seed: each single model is replayed over it and each condition gets the model with
the best mIoU on that condition's frames; with the switching+smoothing run, both switching runs
are replayed over it too (the smoothing settings are chosen there; see docs/ros.md). The
validation drive is never a test drive (refused).
Per test seed, runs (each a replay_eval with its own node process): `clear`, `rain`, `night`
(that model alone, no estimator), `switching` (the map's clear model as model_path, the estimator,
the map's rain/night models, hysteresis --hold-frames) and, with --smoothing-alpha > 0,
`switching+smoothing` (node parameters smoothing_alpha, _keep_below, _reset_difference, _flow
from the --smoothing-* flags). Writes OUT/seed<N>/drive_bag (+ drive_bag.json: its seed and size; a later
call with the same --out and other drive flags is refused), OUT/seed<N>/<run>/report.{json,md},
OUT/val_seed<N>/ likewise, and OUT/summary.{json,md}: the map, each drive's table and, over the
test seeds, mean and sample standard deviation per run, and the paired effect of smoothing
(flicker cut in % of the switching graph's flip share, mIoU change in points). Every ROS process
stays on this machine (ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST, its own ROS_DOMAIN_ID unless one
is set).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # training and rain_seg_ros from this checkout, as scripts/demo.py does
CONDITIONS = ("clear", "rain", "night")
SINGLE = CONDITIONS  # the single-model runs are named after the model they serve
RUNS = (*SINGLE, "switching", "switching+smoothing")


def parse_seeds(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"seeds are comma-separated integers, got {text!r}") from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"give one or more distinct seeds, got {text!r}")
    return seeds


def parse_map(text: str) -> dict[str, str]:
    """'clear:rain,rain:rain,night:night' -> {condition: model}; every condition once."""
    pairs = [item.split(":", 1) for item in text.split(",") if item.strip()]
    found = {c.strip(): m.strip() for c, m in (p if len(p) == 2 else (p[0], "") for p in pairs)}
    if (sorted(found) != sorted(CONDITIONS) or len(pairs) != len(CONDITIONS)
            or any(m not in SINGLE for m in found.values())):
        raise argparse.ArgumentTypeError(
            f"--map wants each of {', '.join(CONDITIONS)} once, mapped to one of {', '.join(SINGLE)}, "
            f"e.g. clear:clear,rain:rain,night:night; got {text!r}")
    return found


def build_parser() -> argparse.ArgumentParser:
    from training.commands.generate_scenes import parse_size

    p = argparse.ArgumentParser(prog="condition_drive", description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, required=True)
    for name in ("clear", "rain", "night", "condition"):
        p.add_argument(f"--{name}-model", required=True, help=f"exported {name} model (.onnx + sidecar)")
    p.add_argument("--frames-per-condition", type=int, default=40)
    p.add_argument("--size", type=parse_size, default=(128, 256), help="HxW of the drive")
    p.add_argument("--seeds", type=parse_seeds, default=[0], help="test drives, e.g. 0,1,2")
    choice = p.add_mutually_exclusive_group()
    choice.add_argument("--map", type=parse_map, default=None,
                        help="the switching graph's condition -> model, e.g. clear:rain,rain:rain,night:night"
                        " (default: each condition its own model)")
    choice.add_argument("--val-seed", type=int, default=None,
                        help="choose the map on a validation drive of this seed (not one of --seeds)")
    p.add_argument("--hold-frames", type=int, default=3, help="switch_hold_frames of the switching runs")
    p.add_argument("--smoothing-alpha", type=float, default=0.6, help="0: no switching+smoothing run")
    p.add_argument("--smoothing-keep-below", type=float, default=1.0,
                   help="the node's smoothing_keep_below (a new label this confident passes through)")
    p.add_argument("--smoothing-reset-difference", type=float, default=40.0,
                   help="the node's smoothing_reset_difference (grey levels)")
    p.add_argument("--smoothing-flow", action="store_true", help="the node's smoothing_flow")
    p.add_argument("--smoothing-flow-method", default="farneback", help="the node's smoothing_flow_method")
    p.add_argument("--smoothing-flow-width", type=int, default=64,
                   help="the node's smoothing_flow_width (px)")
    p.add_argument("--runs", default=",".join(RUNS), help=f"subset of {','.join(RUNS)}")
    p.add_argument("--backend", default="onnxruntime")
    return p


def replay_args(opts: argparse.Namespace, run: str, bag: Path, out: Path, cmap: dict[str, str]) -> list[str]:
    base = [str(bag), "--image-topic", "/camera/image_raw", "--gt-topic", "/camera/gt_mask", "--rate", "0",
            "--backend", opts.backend, "--no-bag", "--out", str(out / run)]
    model = {name: getattr(opts, f"{name}_model") for name in SINGLE}
    if run in SINGLE:
        return base + ["--model", model[run]]
    default = model[cmap["clear"]]
    # A condition served by the default model needs no entry: the node falls back to model_path
    # (and a second copy of the same file would count switches between identical weights).
    entries = [f"{c}:{model[cmap[c]]}" for c in ("rain", "night") if model[cmap[c]] != default]
    args = base + ["--model", default, "--condition-model", opts.condition_model,
                   "--switch-hold-frames", str(opts.hold_frames)]
    args += ["--models", ",".join(entries)] if entries else []
    if run != "switching+smoothing":
        return args
    return args + ["--smoothing-alpha", str(opts.smoothing_alpha),
                   "--smoothing-keep-below", str(opts.smoothing_keep_below),
                   "--smoothing-reset-difference", str(opts.smoothing_reset_difference),
                   "--smoothing-flow", "true" if opts.smoothing_flow else "false",
                   "--smoothing-flow-method", opts.smoothing_flow_method,
                   "--smoothing-flow-width", str(opts.smoothing_flow_width)]


def smoothing_effect(rows_by_seed: dict[int, list[dict[str, Any]]]) -> str | None:
    """switching+smoothing against switching on the same drives: the flicker cut (% of the
    switching flip share) and the mIoU change (points), per-seed mean ± sample std."""
    cuts, gains = [], []
    for rows in rows_by_seed.values():
        by = {r["run"]: r for r in rows}
        if not {"switching", "switching+smoothing"} <= set(by) or not by["switching"]["flip_share"]:
            return None
        plain, smooth = by["switching"], by["switching+smoothing"]
        cuts.append(100 * (1 - smooth["flip_share"] / plain["flip_share"]))
        gains.append(100 * (smooth["miou"] - plain["miou"]))

    def pm(values: list[float], unit: str) -> str:
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        return f"{statistics.fmean(values):+.2f} ± {spread:.2f}{unit}"

    return (f"- smoothing (switching+smoothing vs switching, paired by seed): flicker cut {pm(cuts, ' %')} "
            f"(per seed {', '.join(f'{c:.1f}' for c in cuts)}), mIoU {pm(gains, ' points')} "
            f"(per seed {', '.join(f'{g:+.2f}' for g in gains)})")


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


def choose_map(val_rows: list[dict[str, Any]]) -> dict[str, str]:
    """Per condition, the single model with the best mIoU on that condition's validation frames;
    a tie goes to the model named after the condition, then to the order clear, rain, night."""
    scores = {r["run"]: r["per_condition_miou"] for r in val_rows if r["run"] in SINGLE}
    missing = [m for m in SINGLE if m not in scores]
    if missing:
        raise ValueError(f"validation lacks the single-model run(s) {missing}")

    def key(condition: str, model: str) -> tuple[float, bool, int]:
        value = scores[model].get(condition)
        return (-1.0 if value is None else value, model == condition, -SINGLE.index(model))

    chosen = {}
    for condition in CONDITIONS:
        ranked = sorted(SINGLE, key=lambda model: key(condition, model))  # noqa: B023 - used at once
        chosen[condition] = ranked[-1]
    return chosen


def aggregate(per_seed: dict[int, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Mean and sample standard deviation (0 with one seed) over the test seeds, per run."""
    def stats(values: list[Any]) -> dict[str, float | None]:
        vals = [float(v) for v in values if v is not None]
        if len(vals) != len(values) or not vals:
            return {"mean": None, "std": None}
        return {"mean": statistics.fmean(vals), "std": statistics.stdev(vals) if len(vals) > 1 else 0.0}

    runs = [r["run"] for r in next(iter(per_seed.values()))]
    out = []
    for run in runs:
        rows = [next(r for r in rows if r["run"] == run) for rows in per_seed.values()]
        out.append({"run": run, "seeds": len(rows), "miou": stats([r["miou"] for r in rows]),
                    "per_condition_miou": {c: stats([r["per_condition_miou"].get(c) for r in rows])
                                           for c in CONDITIONS},
                    "flip_share": stats([r["flip_share"] for r in rows]),
                    "estimator_accuracy": stats([r["estimator_accuracy"] for r in rows]),
                    "switches": stats([r["switches"] for r in rows])})
    return out


def verdicts(agg: list[dict[str, Any]], per_seed: dict[int, list[dict[str, Any]]]) -> list[str]:
    """Switching vs each single model on overall mIoU: the per-seed difference (mean ± sample std),
    per-seed wins, and whether the means stay apart by more than both spreads (mean - std of
    switching above mean + std of the single)."""
    by_run = {a["run"]: a["miou"] for a in agg}
    lines = []
    for graph in ("switching", "switching+smoothing"):
        if graph not in by_run or by_run[graph]["mean"] is None:
            continue
        g = by_run[graph]
        for single in (s for s in SINGLE if s in by_run and by_run[s]["mean"] is not None):
            s = by_run[single]
            diffs = [next(r["miou"] for r in rows if r["run"] == graph) - next(r["miou"] for r in rows
                                                                              if r["run"] == single)
                     for rows in per_seed.values()]
            beyond = g["mean"] - g["std"] > s["mean"] + s["std"]
            spread = statistics.stdev(diffs) if len(diffs) > 1 else 0.0
            lines.append(f"- {graph} vs {single}: {100 * statistics.fmean(diffs):+.2f} ± {100 * spread:.2f} "
                         f"points (paired by seed), ahead on {sum(d > 0 for d in diffs)}/{len(diffs)} seeds, "
                         f"{'beyond' if beyond else 'within'} the spread of the two means")
    return lines


def fmt(v: Any, spec: str = ".4f") -> str:
    return "-" if v is None else format(float(v), spec)


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| run | mIoU | clear | rain | night | flip share | estimator acc. | switches "
             "| latency ms | condition ms | smoothing ms |", "|---|" + "---:|" * 10]
    for r in rows:
        per = r["per_condition_miou"]
        lines.append(f"| {r['run']} | {fmt(r['miou'])} | {fmt(per.get('clear'))} | {fmt(per.get('rain'))} "
                     f"| {fmt(per.get('night'))} | {fmt(r['flip_share'])} "
                     f"| {fmt(r['estimator_accuracy'], '.1%')} "
                     f"| {r['switches']} | {fmt(r['latency_mean_ms'], '.1f')} "
                     f"| {fmt(r['condition_mean_ms'], '.2f')} | {fmt(r['smoothing_mean_ms'], '.2f')} |")
    return "\n".join(lines) + "\n"


def markdown_aggregate(agg: list[dict[str, Any]]) -> str:
    def pm(s: dict[str, float | None]) -> str:
        return "-" if s["mean"] is None else f"{s['mean']:.4f} ± {s['std']:.4f}"

    lines = ["| run | mIoU | clear | rain | night | flip share | switches |", "|---|" + "---:|" * 6]
    for a in agg:
        per = a["per_condition_miou"]
        lines.append(f"| {a['run']} | {pm(a['miou'])} | {pm(per['clear'])} | {pm(per['rain'])} "
                     f"| {pm(per['night'])} | {pm(a['flip_share'])} | {fmt(a['switches']['mean'], '.1f')} |")
    return "\n".join(lines) + "\n"


def drive(opts: argparse.Namespace, seed: int, out: Path) -> Path | None:
    """OUT/.../drive_bag for this seed, rendered or reused if it is the drive asked for."""
    from training.scenes.drive import DriveSpec, write_drive_bag

    out.mkdir(parents=True, exist_ok=True)
    bag, record = out / "drive_bag", out / "drive_bag.json"
    # A drive rendered by an earlier call is reused only if it is the drive asked for: a bag of
    # another size, length or seed would otherwise be scored silently under this call's flags.
    n = opts.frames_per_condition
    wanted = {"seed": seed, "size": list(opts.size), "frames_per_condition": n}
    if bag.exists():
        found = json.loads(record.read_text()) if record.is_file() else "an unrecorded drive"
        if found != wanted:
            print(f"condition_drive: {bag} holds {found}, not {wanted}: give a new --out or delete {bag}",
                  file=sys.stderr)
            return None
        return bag
    spec = DriveSpec(height=opts.size[0], width=opts.size[1], frames=3 * n,
                     segments=tuple((c, n) for c in CONDITIONS))
    write_drive_bag(bag, seed, spec, progress=True)
    record.write_text(json.dumps(wanted))
    return bag


def replay_drive(opts: argparse.Namespace, seed: int, out: Path, runs: list[str],
                 cmap: dict[str, str]) -> list[dict[str, Any]] | None:
    from rain_seg_ros.replay.replay_eval import main as replay_eval

    if (bag := drive(opts, seed, out)) is None:
        return None
    rows = []
    for run in runs:
        if replay_eval(replay_args(opts, run, bag, out, cmap)) != 0:
            print(f"condition_drive: the {run} run on seed {seed} failed (its error is above)",
                  file=sys.stderr)
            return None
        rows.append(summarise(run, json.loads((out / run / "report.json").read_text())))
    return rows


def main(argv: list[str] | None = None) -> int:
    opts = build_parser().parse_args(argv)
    runs = [r for r in opts.runs.split(",") if r]
    if unknown := [r for r in runs if r not in RUNS]:
        print(f"condition_drive: --runs {unknown} not among {', '.join(RUNS)}", file=sys.stderr)
        return 1
    if opts.val_seed is not None and opts.val_seed in opts.seeds:
        print(f"condition_drive: --val-seed {opts.val_seed} is also a test seed (--seeds): choose the map "
              "on a drive that is not tested", file=sys.stderr)
        return 1
    if opts.smoothing_alpha <= 0:
        runs = [r for r in runs if r != "switching+smoothing"]
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    os.environ.setdefault("ROS_DOMAIN_ID", str(40 + os.getpid() % 50))
    summary: dict[str, Any] = {"map": opts.map or {c: c for c in CONDITIONS}, "map_chosen_on_seed": None,
                               "smoothing": {k: getattr(opts, f"smoothing_{k}")
                                             for k in ("alpha", "keep_below", "reset_difference", "flow",
                                                       "flow_method", "flow_width")},
                               "validation": None, "seeds": opts.seeds}
    if opts.val_seed is not None:
        val_rows = replay_drive(opts, opts.val_seed, opts.out / f"val_seed{opts.val_seed}", list(SINGLE),
                                summary["map"])
        if val_rows is None:
            return 1
        summary.update(map=choose_map(val_rows), map_chosen_on_seed=opts.val_seed)
        # the switching runs on the validation drive too, where smoothing is run: its settings are
        # chosen on the validation drive (docs/ros.md), and the report shows them there
        graphs = [r for r in runs if r not in SINGLE] if "switching+smoothing" in runs else []
        val_out = opts.out / f"val_seed{opts.val_seed}"
        more = replay_drive(opts, opts.val_seed, val_out, graphs, summary["map"])
        if more is None:
            return 1
        summary["validation"] = val_rows + more
    per_seed: dict[int, list[dict[str, Any]]] = {}
    for seed in opts.seeds:
        if (rows := replay_drive(opts, seed, opts.out / f"seed{seed}", runs, summary["map"])) is None:
            return 1
        per_seed[seed] = rows
    agg = aggregate(per_seed) if runs else []
    effect = smoothing_effect(per_seed)
    summary.update(test={str(s): rows for s, rows in per_seed.items()}, aggregate=agg,
                   verdicts=verdicts(agg, per_seed) + ([effect] if effect else []))
    cmap = ", ".join(f"{c}: {m} model" for c, m in summary["map"].items())
    chosen = (f"chosen on the validation drive (seed {opts.val_seed}: best single model per condition)"
              if opts.val_seed is not None else "given (--map or the default)")
    sm = summary["smoothing"]
    flow_text = f"{sm['flow_method']} at {sm['flow_width']} px" if sm["flow"] else "off"
    text = [f"# Condition drive\n\nMap: {cmap}; {chosen}.\n\nSmoothing (switching+smoothing): alpha "
            f"{sm['alpha']}, keep_below {sm['keep_below']}, reset_difference {sm['reset_difference']}, "
            f"flow {flow_text}.\n"]
    if summary["validation"]:
        val_effect = smoothing_effect({opts.val_seed: summary["validation"]})
        text.append(f"## Validation drive, seed {opts.val_seed}\n\n{markdown(summary['validation'])}"
                    + (f"\n{val_effect}\n" if val_effect else ""))
    text += [f"## Test drive, seed {s}\n\n{markdown(rows)}" for s, rows in per_seed.items()]
    if agg:
        text.append(f"## Over the test seeds {', '.join(map(str, opts.seeds))}: mean ± sample std\n\n"
                    f"{markdown_aggregate(agg)}\n" + "\n".join(summary["verdicts"]) + "\n")
    (opts.out / "summary.json").write_text(json.dumps(summary, indent=2))
    (opts.out / "summary.md").write_text("\n".join(text))
    print("\n".join(text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
