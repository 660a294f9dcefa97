"""Figures of the DANNet experiment: training curves and an example grid
(night | relit | source-only | DANNet | ground truth), written next to the results table.

Example:
    write_curves({"full": run_dir, ...}, out / "curves.png")
    write_examples(source_only_ckpt, dannet_ckpt, night_test_set, out / "examples.png")
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from PIL import Image

from rain_seg_ros.labels import colorize
from training.engine.checkpoint import load_modules
from training.models.dannet import DANNetSegmenter


def write_curves(runs: dict[str, Path], out: Path) -> None:
    """Generator loss terms against steps, one panel per term, one line per run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = ("g/seg", "g/light", "g/static", "g/adv")
    fig, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 3))
    for name, run in runs.items():
        records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
        records = [r for r in records if "g/seg" in r]
        for ax, key in zip(axes, keys):
            points = [(r["step"], r[key]) for r in records if key in r]
            if points:
                ax.plot(*zip(*points), label=name)
    for ax, key in zip(axes, keys):
        ax.set_title(key[2:])
        ax.set_xlabel("step")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


@torch.no_grad()
def write_examples(source_only: Path, dannet: Path, night_set: Any, out: Path, count: int = 4) -> None:
    """Rows of night | relit | source-only | DANNet | ground truth for the first `count` frames."""
    models = {name: cast(DANNetSegmenter, load_modules(ckpt, ["model"])["model"]) for name, ckpt in
              (("source_only", source_only), ("dannet", dannet))}
    rows = []
    for index in range(min(count, len(night_set))):
        sample = night_set[index]
        image = sample["image"][None]                                   # (1, 3, H, W) [0, 1]
        relit = models["dannet"].relit(image).clamp(0, 1)
        preds = [models[n].segment(image).argmax(1)[0].numpy().astype(np.uint8) for n in models]
        tiles = [_rgb(image), _rgb(relit), *(colorize(p) for p in preds),
                 colorize(sample["mask"].numpy().astype(np.uint8))]
        rows.append(np.concatenate(tiles, axis=1))
    Image.fromarray(np.concatenate(rows, axis=0)).save(out)


def _rgb(image: torch.Tensor) -> np.ndarray:
    return (image[0].permute(1, 2, 0).numpy() * 255.0 + 0.5).clip(0, 255).astype(np.uint8)
