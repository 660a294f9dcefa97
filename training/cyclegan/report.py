"""Tables and plot of the night experiment (results.json -> results.md + count_sweep.png).

A difference from the baseline counts as a gain (or a loss) only when it is larger than the
two rows' spreads added together (std over seeds); otherwise the table says "within spread".
"""

from __future__ import annotations

import math
import re
import statistics
from pathlib import Path
from typing import Any

LABELS = {"baseline": "Day-only baseline",
          "method1": "Method 1: F (night→day) at inference, baseline model",
          "dannet": "DANNet",
          "oracle": "Oracle: day + labelled real night"}
METRICS = ("mIoU", "aAcc")


def _stats(values: list[float]) -> list[float]:
    """[mean, std (sample; 0 for one value), n] of the finite values."""
    vals = [v for v in values if v is not None and not math.isnan(v)]
    if not vals:
        return [math.nan, math.nan, 0]
    return [statistics.fmean(vals), statistics.stdev(vals) if len(vals) > 1 else 0.0, len(vals)]


def summarise(runs: dict[str, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """runs[segmenter][row][seed][condition] = scores -> mean/std/n per metric and mean per-class IoU."""
    out: dict[str, Any] = {}
    for seg, rows in runs.items():
        out[seg] = {}
        for row, seeds in rows.items():
            conds = sorted({c for per_seed in seeds.values() for c in per_seed})
            out[seg][row] = {}
            for cond in conds:
                scores = [s[cond] for s in seeds.values() if cond in s]
                classes = scores[0].get("per_class_iou", {})
                out[seg][row][cond] = {m: _stats([s.get(m) for s in scores]) for m in METRICS} | {
                    "per_class_iou": {c: _stats([s["per_class_iou"].get(c) for s in scores])[0]
                                      for c in classes}}
    return out


def row_label(row: str) -> str:
    m = re.fullmatch(r"method2@(.+)", row)
    return f"Method 2: day + {m[1]}× translated night (G)" if m else LABELS.get(row, row)


def count_of(row: str) -> float | None:
    m = re.fullmatch(r"method2@(.+)", row)
    return float(m[1]) if m else None


def _fmt(stat: list[float] | None) -> str:
    if not stat or math.isnan(stat[0]):
        return "–"
    return f"{stat[0]:.2f} ± {stat[1]:.2f}"


def gain(row: dict[str, Any], base: dict[str, Any], cond: str = "night") -> tuple[float, bool] | None:
    """(mean mIoU difference, whether it exceeds the two spreads added) or None."""
    if cond not in row or cond not in base:
        return None
    (a, sa, _), (b, sb, _) = row[cond]["mIoU"], base[cond]["mIoU"]
    if math.isnan(a) or math.isnan(b):
        return None
    return a - b, abs(a - b) > sa + sb


def _order(rows: dict[str, Any]) -> list[str]:
    sweep = sorted((r for r in rows if count_of(r) is not None), key=lambda r: count_of(r) or 0.0)
    return [r for r in ("baseline", "method1") if r in rows] + sweep + \
        [r for r in ("dannet", "oracle") if r in rows]


def write_night_report(summary: dict[str, Any], md_path: Path, plot_path: Path) -> None:
    cfg = summary["config"]
    s = cfg["scenes"]
    seconds = summary.get("stage_seconds", {})
    lines = ["# Night experiment: CycleGAN day↔night (See Clearer at Night) on procedural scenes", "",
             f"Scenes: {s['count']} at {s['size'][0]}×{s['size'][1]} (seed {s['seed']}, "
             f"splits {s['splits']}), "
             f"{summary['num_day_train']} labelled day training images; test: "
             f"{summary['test_images'].get('night', 0)} night and {summary['test_images'].get('day', 0)} day "
             f"frames ({cfg['eval_split']} split). Segmenters trained {cfg['steps']} steps, batch "
             f"{cfg['batch_size']}, crop {cfg['crop_size'][0]}×{cfg['crop_size'][1]}; seeds {cfg['seeds']}. "
             f"Wall time of all stages: {sum(seconds.values()) / 60:.1f} min (device {cfg['device']}).", "",
             "Values: mean ± std over the seeds. A gain is counted only when it exceeds the two rows' "
             "spreads added together.", ""]
    psnr = summary.get("cyclegan_eval", {}).get("cycle_psnr_db")
    if psnr:
        lines += [f"CycleGAN cycle-reconstruction PSNR on the held-out {summary['cyclegan_eval']['split']} "
                  f"images: day→night→day {psnr['day']:.2f} dB ({psnr['day_images']:.0f} images), "
                  f"night→day→night {psnr['night']:.2f} dB ({psnr['night_images']:.0f} images). Rows of "
                  "translations.png: day | G(day) | F(G(day)) | night | F(night) | G(F(night)).", ""]
    words = []
    for seg, rows in summary["summary"].items():
        base = rows.get("baseline")
        lines += [f"## {seg}", "", "| row | night mIoU | night pixel acc. | day mIoU | day pixel acc. | "
                  "night mIoU vs baseline |", "|---|---|---|---|---|---|"]
        for row in _order(rows):
            r = rows[row]
            g = gain(r, base) if base is not None and row != "baseline" else None
            g_text = "–" if g is None else f"{g[0]:+.2f} ({'beyond' if g[1] else 'within'} spread)"
            lines.append(f"| {row_label(row)} | {_fmt(r.get('night', {}).get('mIoU'))} | "
                         f"{_fmt(r.get('night', {}).get('aAcc'))} | {_fmt(r.get('day', {}).get('mIoU'))} | "
                         f"{_fmt(r.get('day', {}).get('aAcc'))} | {g_text} |")
        lines += ["", f"Per-class IoU at night (mean over seeds), {seg}:", ""]
        classes = [c for c in next(iter(rows.values())).get("night", {}).get("per_class_iou", {})
                   if any(not math.isnan(rows[r].get("night", {}).get("per_class_iou", {}).get(c, math.nan))
                          for r in rows)]
        lines += ["| row | " + " | ".join(classes) + " |", "|---" * (len(classes) + 1) + "|"]
        for row in _order(rows):
            iou = rows[row].get("night", {}).get("per_class_iou", {})
            lines.append(f"| {row} | " + " | ".join("–" if math.isnan(iou.get(c, math.nan))
                                                     else f"{iou[c]:.1f}" for c in classes) + " |")
        lines.append("")
        if base is not None:
            helped = [(row, gain(rows[row], base)) for row in _order(rows)
                      if row not in ("baseline", "oracle")]
            real = [(row, g) for row, g in helped if g is not None and g[1]]
            if real:
                best = max(real, key=lambda item: item[1][0])   # type: ignore[index]
                words.append(f"- {seg}: {row_label(best[0])} changes night mIoU by {best[1][0]:+.2f} "
                             "relative to the day-only baseline, beyond the seeds' spread.")
                for row, g in real:
                    if row != best[0]:
                        words.append(f"  - also beyond spread: {row_label(row)} ({g[0]:+.2f}).")
            else:
                words.append(f"- {seg}: no method moves night mIoU beyond the seeds' spread.")
    lines += ["## In plain words", "", *words, "", "![count sweep](count_sweep.png)", ""]
    md_path.write_text("\n".join(lines))
    plot_count_sweep(summary["summary"], plot_path)


def plot_count_sweep(summary: dict[str, Any], path: Path) -> None:
    """Night mIoU (mean ± std) against the translated-night count; count 0 is the baseline."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for seg, rows in summary.items():
        points = [(0.0, rows["baseline"]["night"]["mIoU"])] if "baseline" in rows else []
        points += sorted((count_of(r) or 0.0, rows[r]["night"]["mIoU"]) for r in rows
                         if count_of(r) is not None)
        if points:
            xs = [p[0] for p in points]
            line = ax.errorbar(xs, [p[1][0] for p in points], yerr=[p[1][1] for p in points], marker="o",
                               capsize=3, label=seg)
            if "oracle" in rows:
                ax.axhline(rows["oracle"]["night"]["mIoU"][0], ls="--", color=line[0].get_color(), alpha=0.6,
                           label=f"{seg} oracle")
    ax.set_xlabel("translated night images / day images")
    ax.set_ylabel("night mIoU (%)")
    ax.set_title("Method 2: night mIoU against the translated count")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
