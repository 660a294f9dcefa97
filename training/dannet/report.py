"""The DANNet ablation table: mean ± std over seeds, and an honest gain column.

A step of the ablation (source_only -> light -> light_static -> full) is called a "gain" only
when its mean night mIoU rises by more than the two rows' seed spreads together
(std_before + std_after); a smaller rise is "within seed spread", a fall is "drop". With one
seed there is no spread to compare against: the verdict is "one seed: no spread".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from training.seed_stats import mean_std, verdict

CHAIN = ("source_only", "light", "light_static", "full")
LABELS = {"source_only": "source only", "light": "+ light", "light_static": "+ light + static",
          "full": "full DANNet (+ adversarial)", "oracle": "oracle (labelled night)"}


def summarise(runs: dict[str, dict[str, dict[str, float]]]) -> dict[str, dict[str, Any]]:
    """runs[row][seed] = {"night": mIoU, "day": mIoU} -> per row mean/std and the step verdict."""
    rows: dict[str, dict[str, Any]] = {}
    previous = None
    for row, seeds in runs.items():
        night = mean_std([s["night"] for s in seeds.values()])
        day = mean_std([s["day"] for s in seeds.values()])
        entry: dict[str, Any] = {"night_mean": night[0], "night_std": night[1], "day_mean": day[0],
                                 "day_std": day[1], "seeds": len(seeds)}
        if row in CHAIN and previous is not None:
            entry["step_from"] = previous
            entry["step_diff"] = night[0] - rows[previous]["night_mean"]
            entry["step"] = (verdict((rows[previous]["night_mean"], rows[previous]["night_std"]), night)
                             if min(len(seeds), rows[previous]["seeds"]) > 1 else "one seed: no spread")
        if row in CHAIN:
            previous = row
        rows[row] = entry
    return rows


def write_report(summary: dict[str, Any], path: Path) -> None:
    rows, cfg, machine = summary["rows"], summary["config"], summary["machine"]
    s = cfg["scenes"]
    scenes = (f"`{summary['scenes']}` (given)" if s["root"] else
              f"{s['count']} generated at {s['size'][0]}x{s['size'][1]} (`{summary['scenes']}`)")
    lines = ["# DANNet ablation on procedural day/night twins", "",
             f"Scenes: {scenes}; scored on the {summary['test_frames']} held-out night frames of split "
             f"`{cfg['eval_split']}` and their day twins; day/night misalignment "
             f"±{cfg['misalign_px']} px, zoom up to {cfg['misalign_scale']}; {cfg['steps']} steps per run, "
             f"seeds {cfg['seeds']}; train config `{cfg['train_config']}`.",
             f"Machine: {machine['platform']}, {machine['cpu_count']} CPUs, device {machine['device']}, "
             f"torch {machine['torch']}.", "",
             "| row | night mIoU | day mIoU | step (night) | verdict |", "|---|---|---|---|---|"]
    for row, r in rows.items():
        step = f"{r['step_diff']:+.2f} vs {LABELS[r['step_from']]}" if "step" in r else ""
        lines.append(f"| {LABELS[row]} | {r['night_mean']:.2f} ± {r['night_std']:.2f} | "
                     f"{r['day_mean']:.2f} ± {r['day_std']:.2f} | {step} | {r.get('step', '')} |")
    lines += ["", "mean ± sample std over seeds; a step is a gain only when it exceeds "
              "std before + std after."]
    if "full" in rows and "source_only" in rows:
        drop = rows["source_only"]["day_mean"] - rows["full"]["day_mean"]
        lines.append(f"Day mIoU, full DANNet vs source only: {-drop:+.2f} points "
                     f"({'within' if drop <= 2.0 else 'NOT within'} 2 points).")
    no_gain = [LABELS[r] for r, v in rows.items() if v.get("step") and v["step"] != "gain"]
    if no_gain:
        lines.append(f"Steps that are not a gain beyond the seeds' spread: {', '.join(no_gain)}.")
    drive = summary.get("night_drive") or {}
    if drive:
        lines += ["", f"Night drive ({summary['config']['night_drive_frames']} frames, "
                  "`make-drive-bag --condition night`) replayed through `segmentation_node` "
                  "(ONNX Runtime):", "",
                  "| model | mIoU | latency p50 / p95 (ms) | frames answered |", "|---|---|---|---|"]
        for name, r in drive.items():
            miou = "n/a" if r["mIoU"] is None else f"{r['mIoU']:.2f}"
            latency = f"{r['latency_ms_p50']:.1f} / {r['latency_ms_p95']:.1f}"
            answered = f"{r['masks_received']} / {r['frames_sent']}"
            lines.append(f"| {LABELS[name]} | {miou} | {latency} | {answered} |")
    seconds = summary["stage_seconds"]
    lines += ["", f"Wall time: {sum(seconds.values()) / 60:.1f} min in all "
              f"(training {sum(v for k, v in seconds.items() if k.endswith('/train')) / 60:.1f} min)."]
    path.write_text("\n".join(lines) + "\n")
