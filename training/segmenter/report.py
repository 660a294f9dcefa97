"""Markdown table of the rain experiment (results.json -> results.md) and its example grid."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from training.seed_stats import mean_std, verdict

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


def _cell(scores: dict[str, Any], metric: str) -> str:
    """'mean ± std' over seeds ('mean' for one seed or an older single-run results.json)."""
    if len(scores.get("per_seed", {})) > 1:
        return f"{scores[metric]:.2f} ± {scores[f'{metric}_std']:.2f}"
    return _fmt(scores[metric])


def paired_difference(a: dict[str, Any], b: dict[str, Any]) -> tuple[float, float, int, int]:
    """mIoU of a minus b, paired by seed: (mean, sample std, seeds where a > b, seeds)."""
    seeds = sorted(set(a.get("per_seed", {})) & set(b.get("per_seed", {})))
    if not seeds:  # a results.json from before seeds: one run each
        return a["mIoU"] - b["mIoU"], 0.0, int(a["mIoU"] > b["mIoU"]), 1
    diffs = [a["per_seed"][s] - b["per_seed"][s] for s in seeds]
    return (*mean_std(diffs), sum(d > 0 for d in diffs), len(diffs))


def compare(a: dict[str, Any], b: dict[str, Any]) -> str:
    """a vs b in words: the difference of the means, the project's verdict (a gain only beyond
    std_a + std_b, `training.seed_stats`), and the seed-paired difference for reference."""
    mean, std, ahead, n = paired_difference(a, b)
    if n < 2:
        return f"{mean:+.2f} mIoU (one seed: no spread)"
    word = verdict((b["mIoU"], b["mIoU_std"]), (a["mIoU"], a["mIoU_std"]))
    return (f"{a['mIoU'] - b['mIoU']:+.2f} mIoU, {word} (spread {a['mIoU_std'] + b['mIoU_std']:.2f}); "
            f"paired by seed {mean:+.2f} ± {std:.2f}, ahead in {ahead}/{n}")


def _checks(rows: dict[str, dict[str, Any]]) -> list[str]:
    """The thesis's claims, stated as they came out: differences of the means over seeds and
    whether each exceeds the seed spread."""
    def get(method: str, cond: str) -> dict[str, Any] | None:
        return rows.get(method, {}).get(cond)

    lines = []
    for cond in ("dsanet_rain", "rendered_rain"):
        a, b = get("ours", cond), get("baseline", cond)
        if a and b:
            lines.append(f"- Ours vs baseline on {COND_LABELS[cond]}: {compare(a, b)}")
    a, b = get("ours", "clean"), get("baseline", "clean")
    if a and b:
        mean = paired_difference(a, b)[0]
        lines.append(f"- Ours vs baseline on clean: {compare(a, b)} "
                     f"({'within' if mean >= -2.0 else 'outside'} the 2-mIoU budget)")
    order = [m for m in ("end_to_end", "ours", "input1") if m in rows]
    for cond in ("dsanet_rain", "rendered_rain"):
        entries = [get(m, cond) for m in order]
        if len(order) > 1 and all(entries):
            vals = [e["mIoU"] for e in entries]  # type: ignore[index]
            holds = all(x >= y for x, y in zip(vals, vals[1:]))
            chain = " ≥ ".join(f"{m} {v:.2f}" for m, v in zip(order, vals))
            lines.append(f"- Thesis ordering on {COND_LABELS[cond]} ({chain}, means): "
                         f"{'holds' if holds else 'does not hold'}")
            for (m1, e1), (m2, e2) in zip(zip(order, entries), zip(order[1:], entries[1:])):
                lines.append(f"  - {m1} vs {m2}: {compare(e1, e2)}")  # type: ignore[arg-type]
        a, b = get("ours", cond), get("derain", cond)
        if a and b:
            lines.append(f"- Ours vs derain-then-segment on {COND_LABELS[cond]}: {compare(a, b)}")
    return lines


def write_report(summary: dict[str, Any], path: Path) -> None:
    cfg = summary["config"]
    lines = ["# Rain experiment results", "",
             f"Data: `{summary['scenes']}` (test split `{cfg['eval_split']}`); "
             f"DSANet: `{summary['dsanet']}`, "
             f"DSANet-rainified test at intensity {cfg['dsanet']['eval_intensity']}. "
             f"Pre-training {cfg['pretrain_steps']} steps on clean data, then {cfg['finetune_steps']} "
             f"fine-tuning steps per method; batch {cfg['batch_size']}, crop {cfg['crop_size']}. "
             f"Scores in percent; mean ± sample std over seeds {summary.get('seeds', [0])}, each seed "
             "a re-run of the chain (DSANet training unless given, rainify, segmenters). A difference "
             "is called a gain only where it exceeds the two rows' stds together.", ""]
    conditions = cfg["conditions"]
    for seg, rows in summary["results"].items():
        lines += [f"## {seg}", "", "| method | " + " | ".join(
            f"{COND_LABELS[c]} mIoU | {COND_LABELS[c]} mAcc" for c in conditions) + " |",
            "|---|" + "---:|" * (2 * len(conditions))]
        for method, scores in rows.items():
            cells = []
            for c in conditions:
                cells += [_cell(scores[c], "mIoU"), _cell(scores[c], "mAcc")]
            lines.append(f"| {LABELS.get(method, method)} | " + " | ".join(cells) + " |")
        lines += ["", *_checks(rows), ""]
        cond = "rendered_rain" if "rendered_rain" in conditions else conditions[0]
        classes = [name for name in next(iter(rows.values()))[cond]["per_class_iou"]
                   if any(r[cond]["per_class_iou"].get(name) is not None for r in rows.values())]
        lines += [f"Per-class IoU on {COND_LABELS[cond]} ({seg}, mean over seeds):", "",
                  "| method | " + " | ".join(classes) + " |", "|---|" + "---:|" * len(classes)]
        for method, scores in rows.items():
            iou = scores[cond]["per_class_iou"]
            lines.append(f"| {method} | " + " | ".join(_fmt(iou.get(c)) for c in classes) + " |")
        lines.append("")
    lines += ["## Wall time per stage (s)", "", "| stage | s |", "|---|---:|"]
    lines += [f"| {name} | {sec:.1f} |" for name, sec in summary["stage_seconds"].items()]
    path.write_text("\n".join(lines) + "\n")


def plot_examples(cfg: Any, dsanet: Path, bank: Path, scenes: Path, path: Path, device: str,
                  count: int = 3) -> None:
    """OUT/examples.png of the experiment (cfg: its ExperimentConfig). Test images 0..count-1 as
    the evaluation sees them: clean | DSANet-rainified (the eval
    intensity, the same bank code per image as the table) | rendered rain | rendered rain
    derained by the same DSANet."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    from training.dsanet.api import DSANet
    from training.dsanet.bank import load_rain_bank
    from training.dsanet.io import to_uint8
    from training.segmenter.config import DataSource
    from training.segmenter.data import open_dataset
    from training.segmenter.weather import derain_fn, rainify_fn

    net = DSANet.from_checkpoint(dsanet, device=device)
    codes, _ = load_rain_bank(bank)
    rainify, derain = rainify_fn(net, codes, cfg.dsanet.eval_intensity, seed=cfg.scenes.seed), derain_fn(net)
    clean = open_dataset(DataSource(root=str(scenes), split=cfg.eval_split))
    rendered = open_dataset(DataSource(root=str(scenes), split=cfg.eval_split, kwargs={"variant": "rain"}))
    titles = ["clean", f"DSANet-rainified (t = {cfg.dsanet.eval_intensity})", "rendered rain",
              "rendered rain, DSANet-derained"]
    rows = min(count, len(clean))
    fig, axes = plt.subplots(rows, len(titles), figsize=(3.2 * len(titles), 1.7 * rows + 0.4), squeeze=False)
    for i in range(rows):
        image, rain = clean[i]["image"][None], rendered[i]["image"][None]   # (1, 3, H, W) in [0, 1]
        with torch.no_grad():
            row = [image, rainify(image, i), rain, derain(rain, i)]
        for ax, img, title in zip(axes[i], row, titles):
            ax.imshow(to_uint8(img[0].cpu()))
            ax.set_axis_off()
            if i == 0:
                ax.set_title(title, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
