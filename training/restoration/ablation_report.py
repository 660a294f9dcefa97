"""The mask-restoration experiment's outputs: results.md (mean ± std tables) and the image grid
(image | fine | incomplete | restored | synthesised from restored), one row per sample."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from rain_seg_ros.labels import colorize
from training.data.cityscapes import label_id_to_train_id_lut
from training.restoration.data import MaskImageDataset
from training.restoration.evaluate import restore
from training.restoration.frozen import load_frozen_spade, load_restorer
from training.restoration.incomplete import IncompleteConfig
from training.restoration.labels import fine_one_hot

COLUMNS = (("FID", "FID ↓"), ("pixel_acc", "pixel acc ↑"), ("mIoU", "mIoU ↑"),
           ("FCN_mIoU", "FCN-score mIoU ↑"))
ROW_NAMES = {"fine": "synthesis from the real fine mask", "none": "none (no restoration)"}
TASK_TITLES = {"sparse": "sparse → fine", "sr8": "×8 super-resolution"}


def mean_std(values: list[Any]) -> str:
    """"m ± s" over the seeds (sample std, ddof=1); "–" when no seed has a value."""
    xs = [float(v) for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if not xs:
        return "–"
    if len(xs) == 1:
        return _num(xs[0])
    return f"{_num(float(np.mean(xs)))} ± {_num(float(np.std(xs, ddof=1)))}"


def _num(x: float) -> str:
    """One decimal for percentages; 3 significant digits for small values (FID on segmenter
    features can be far below 1)."""
    return f"{x:.1f}" if abs(x) >= 1 or x == 0 else f"{x:.3g}"


def write_report(summary: dict[str, Any], path: Path) -> None:
    cfg = summary["config"]
    lines = ["# Mask restoration on procedural scenes", "",
             f"{cfg['scenes']['count']} scenes at {cfg['scenes']['size'][0]}x{cfg['scenes']['size'][1]}, "
             f"labels {cfg['labels']}, seeds {cfg['seeds']}; restorers scored on the "
             f"{cfg['eval_split']} split. FID and FCN-score use the project segmenter trained on the fine "
             "labels (not Inception): they rank rows within a table and are not comparable to published FID.",
             ""]
    for task, rows in summary["tables"].items():
        lines += [f"## {TASK_TITLES.get(task, task)}", "",
                  "| loss | " + " | ".join(title for _, title in COLUMNS) + " |",
                  "|---|" + "---|" * len(COLUMNS)]
        for row, runs in rows.items():
            cells = [mean_std([r.get(key) for r in runs]) for key, _ in COLUMNS]
            lines.append(f"| {ROW_NAMES.get(row, row)} | " + " | ".join(cells) + " |")
        lines.append("")
    if summary["closed_loop"]:
        lines += ["## Closed loop: segmenter trained on …, scored on held-out fine labels", "",
                  f"restored_coarse: the train split's coarse labels restored by the "
                  f"{summary.get('closed_loop_row')} restorer (sparse, seed {cfg['seeds'][0]}).", "",
                  "| training labels | mIoU | aAcc |", "|---|---|---|"]
        for name, scores in summary["closed_loop"].items():
            lines.append(f"| {name} | {mean_std([scores.get('mIoU')])} | {mean_std([scores.get('aAcc')])} |")
        lines.append("")
    lines += ["## Wall time per stage (s)", "", "| stage | seconds |", "|---|---|"]
    lines += [f"| {name} | {secs:.1f} |" for name, secs in summary["stage_seconds"].items()]
    lines.append(f"| **total** | {sum(summary['stage_seconds'].values()):.1f} |")
    path.write_text("\n".join(lines) + "\n")


@torch.no_grad()
def write_grid(restorer: Path, scenes: Path, split: str, out: Path, *, count: int = 4,
               device: str = "cpu") -> None:
    """PNG grid: image | fine | incomplete | restored | synthesised from restored, `count` rows."""
    mask_gen, meta = load_restorer(restorer, device)
    generator, _ = load_frozen_spade(meta["spade"], device)
    k, scheme = int(meta["num_classes"]), meta["labels"]
    ds = MaskImageDataset(scenes, split, labels=scheme, size=tuple(meta["size"]),
                          incomplete=IncompleteConfig(**meta["incomplete"]))
    to_train = label_id_to_train_id_lut() if scheme == "label_ids" else np.arange(256, dtype=np.uint8)

    def colour(mask: torch.Tensor) -> np.ndarray:
        return colorize(to_train[mask.clamp(0, 255).to(torch.uint8).cpu().numpy()])

    def rgb(image: torch.Tensor) -> np.ndarray:
        return (image.clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255).round().astype(np.uint8)

    rows = []
    for index in range(min(count, len(ds))):
        sample = ds[(index, index)]
        incomplete = sample["incomplete"][None].to(device)
        restored = restore(mask_gen, incomplete, k)                  # (1, H, W)
        synth = generator(fine_one_hot(restored, k))[0]              # (3, H, W)
        rows.append(np.concatenate([rgb(sample["image"]), colour(sample["mask"]), colour(incomplete[0]),
                                    colour(restored[0]), rgb(synth)], axis=1))
    Image.fromarray(np.concatenate(rows, axis=0)).save(out)


def write_curves(out: Path, rows: list[str], tasks: list[str], seeds: list[int]) -> Path:
    """OUT/curves.png: the frozen SPADE's generator / discriminator losses, and per task the
    restorers' cross-entropy (mean over seeds) against the step, one line per loss row."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from training.engine.logging import read_jsonl

    fig, axes = plt.subplots(1, 1 + len(tasks), figsize=(4.5 * (1 + len(tasks)), 3.4))
    spade = read_jsonl(out / "spade" / "losses.jsonl") if (out / "spade" / "losses.jsonl").is_file() else []
    for key in ("g/total", "d/total"):
        axes[0].plot([r["step"] for r in spade], [r.get(key, np.nan) for r in spade], label=key)
    axes[0].set(title="SPADE (frozen afterwards)", xlabel="step", ylabel="loss")
    axes[0].legend(fontsize=7)
    for ax, task in zip(axes[1:], tasks):
        for row in rows:
            logs = [read_jsonl(f) for seed in seeds
                    if (f := out / "restorers" / f"{task}_{row}_seed{seed}" / "losses.jsonl").is_file()]
            if not logs:
                continue
            n = min(len(log) for log in logs)
            ce = np.mean([[r["ce"] for r in log[:n]] for log in logs], axis=0)    # (n,)
            ax.plot([r["step"] for r in logs[0][:n]], ce, label=row)
        ax.set(title=f"restorer CE, {task} (mean over seeds)", xlabel="step", ylabel="cross-entropy")
        ax.legend(fontsize=7)
    fig.tight_layout()
    path = out / "curves.png"
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path
