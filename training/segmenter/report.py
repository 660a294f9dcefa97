"""Markdown table of the rain experiment (results.json -> results.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

LABELS = {"baseline": "Clean-trained baseline",
          "ours": "Fine-tuned on DSANet-rainified (Ours)",
          "input1": "Fine-tuned on Input-1-DSANet-rainified",
          "end_to_end": "End-to-End (DSANet + segmenter)",
          "derain": "Derain (DSANet) then segment, baseline model",
          "random_rain": "Fine-tuned with RandomRain",
          "physical_rain": "Fine-tuned with physical rain"}
COND_LABELS = {"clean": "clean", "dsanet_rain": "DSANet-rainified", "rendered_rain": "rendered rain"}


def _fmt(value: Any) -> str:
    return "–" if value is None else f"{value:.2f}"


def _checks(rows: dict[str, dict[str, Any]]) -> list[str]:
    """The issue's claims, stated as they came out (numbers, not opinions)."""
    def miou(method: str, cond: str) -> float | None:
        return rows.get(method, {}).get(cond, {}).get("mIoU")

    lines = []
    if "ours" in rows and "baseline" in rows:
        for cond in ("dsanet_rain", "rendered_rain"):
            a, b = miou("ours", cond), miou("baseline", cond)
            if a is not None and b is not None:
                lines.append(f"- Ours vs baseline on {COND_LABELS[cond]}: {a - b:+.2f} mIoU "
                             f"({'beats' if a > b else 'does not beat'} the baseline)")
        a, b = miou("ours", "clean"), miou("baseline", "clean")
        if a is not None and b is not None:
            lines.append(f"- Ours vs baseline on clean: {a - b:+.2f} mIoU "
                         f"({'within' if a - b >= -2.0 else 'outside'} the 2-mIoU budget)")
    order = [m for m in ("end_to_end", "ours", "input1") if m in rows]
    for cond in ("dsanet_rain", "rendered_rain"):
        vals = [miou(m, cond) for m in order]
        if len(order) > 1 and None not in vals:
            holds = all(x >= y for x, y in zip(vals, vals[1:]))  # type: ignore[operator]
            chain = " ≥ ".join(f"{m} {v:.2f}" for m, v in zip(order, vals))
            verdict = "holds" if holds else "does not hold"
            lines.append(f"- Thesis ordering on {COND_LABELS[cond]} ({chain}): {verdict}")
        if "derain" in rows and "ours" in rows:
            a, b = miou("ours", cond), miou("derain", cond)
            if a is not None and b is not None:
                lines.append(f"- Ours vs derain-then-segment on {COND_LABELS[cond]}: {a - b:+.2f} mIoU")
    return lines


def write_report(summary: dict[str, Any], path: Path) -> None:
    cfg = summary["config"]
    lines = ["# Rain experiment results", "",
             f"Data: `{summary['scenes']}` (test split `{cfg['eval_split']}`); "
             f"DSANet: `{summary['dsanet']}`, "
             f"DSANet-rainified test at intensity {cfg['dsanet']['eval_intensity']}. "
             f"Pre-training {cfg['pretrain_steps']} steps on clean data, then {cfg['finetune_steps']} "
             f"fine-tuning steps per method; batch {cfg['batch_size']}, crop {cfg['crop_size']}. "
             "Scores in percent.", ""]
    conditions = cfg["conditions"]
    for seg, rows in summary["results"].items():
        lines += [f"## {seg}", "", "| method | " + " | ".join(
            f"{COND_LABELS[c]} mIoU | {COND_LABELS[c]} mAcc" for c in conditions) + " |",
            "|---|" + "---:|" * (2 * len(conditions))]
        for method, scores in rows.items():
            cells = []
            for c in conditions:
                cells += [_fmt(scores[c]["mIoU"]), _fmt(scores[c]["mAcc"])]
            lines.append(f"| {LABELS.get(method, method)} | " + " | ".join(cells) + " |")
        lines += ["", *_checks(rows), ""]
        cond = "rendered_rain" if "rendered_rain" in conditions else conditions[0]
        classes = [name for name in next(iter(rows.values()))[cond]["per_class_iou"]
                   if any(r[cond]["per_class_iou"].get(name) is not None for r in rows.values())]
        lines += [f"Per-class IoU on {COND_LABELS[cond]} ({seg}):", "",
                  "| method | " + " | ".join(classes) + " |", "|---|" + "---:|" * len(classes)]
        for method, scores in rows.items():
            iou = scores[cond]["per_class_iou"]
            lines.append(f"| {method} | " + " | ".join(_fmt(iou.get(c)) for c in classes) + " |")
        lines.append("")
    lines += ["## Wall time per stage (s)", "", "| stage | s |", "|---|---:|"]
    lines += [f"| {name} | {sec:.1f} |" for name, sec in summary["stage_seconds"].items()]
    path.write_text("\n".join(lines) + "\n")
