"""Evaluation JSON and figures of trained DSANet runs on held-out rain pairs (docs/dsanet.md).

Example:
    python -m training.dsanet.report --run ours=runs/dsanet_synth-128x128 \
        --run input1=runs/dsanet-input1_synth-128x128 --pairs /tmp/scenes --split test --out docs

For every run, on the held-out pairs (x' rainy, x clean):
- derain: PSNR / SSIM (RGB and Y) of derain(x') vs x, next to those of x' itself;
- rainify: x with the rain of another pair's rainy image (pair i takes i+1) at intensities
  0, 0.25, 0.5, 0.75, 1.0, scored against x (the background it should keep);
- rainify-then-derain: derain(rainify(x, ref, 1.0)) vs x;
- derain of the clean image itself (derain should leave it alone);
- rain fidelity: rainify(x, x', 1.0), the clean image with its own rainy twin's rain, scored
  against x' (the real rainy image), next to x itself against x' — above that baseline the
  synthesised rain is the real rain, not just some change.
Writes OUT/dsanet_results.json, OUT/dsanet_training_curves.png, OUT/dsanet_examples.png.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from training.dsanet.api import DSANet
from training.dsanet.evaluate import image_scores, mean_scores
from training.dsanet.io import to_uint8

INTENSITIES = (0.0, 0.25, 0.5, 0.75, 1.0)


def evaluate_run(net: DSANet, pairs: Any, limit: int | None = None) -> dict[str, Any]:
    n = len(pairs) if limit is None else min(limit, len(pairs))
    rows: dict[str, list[dict[str, float]]] = {
        "rainy_input": [], "derained": [], "rainify_then_derain": [], "derained_clean": [],
        "twin_rain_vs_rainy": [], "clean_vs_rainy": []}
    rows |= {f"rainify_{t}": [] for t in INTENSITIES}
    for i in range(n):
        a, ref = pairs[i], pairs[(i + 1) % n]
        rainy, clean = a["rainy"][None], a["clean"][None]            # (1, 3, H, W)
        target, rainy_u8 = to_uint8(clean[0]), to_uint8(rainy[0])
        rows["rainy_input"].append(image_scores(rainy_u8, target))
        rows["derained"].append(image_scores(to_uint8(net.derain(rainy)[0]), target))
        rows["derained_clean"].append(image_scores(to_uint8(net.derain(clean)[0]), target))
        rows["twin_rain_vs_rainy"].append(image_scores(to_uint8(net.rainify(clean, rainy, 1.0)[0]), rainy_u8))
        rows["clean_vs_rainy"].append(image_scores(target, rainy_u8))
        codes = net.rain_codes(ref["rainy"][None])
        for t in INTENSITIES:
            out = net.rainify_with_codes(clean, codes, t)
            rows[f"rainify_{t}"].append(image_scores(to_uint8(out[0]), target))
            if t == 1.0:
                rows["rainify_then_derain"].append(image_scores(to_uint8(net.derain(out)[0]), target))
    means = {k: mean_scores(v) for k, v in rows.items()}
    psnr_by_t = [means[f"rainify_{t}"]["psnr_rgb"] for t in INTENSITIES[1:]]
    checks = {
        "derain_beats_input_psnr_rgb": means["derained"]["psnr_rgb"] > means["rainy_input"]["psnr_rgb"],
        "derain_beats_input_ssim_rgb": means["derained"]["ssim_rgb"] > means["rainy_input"]["ssim_rgb"],
        "derain_beats_input_psnr_y": means["derained"]["psnr_y"] > means["rainy_input"]["psnr_y"],
        "derain_beats_input_ssim_y": means["derained"]["ssim_y"] > means["rainy_input"]["ssim_y"],
        "rainify_psnr_falls_with_intensity": all(a > b for a, b in zip(psnr_by_t, psnr_by_t[1:])),
        "rainify_then_derain_beats_rainified_psnr":
            means["rainify_then_derain"]["psnr_rgb"] > means["rainify_1.0"]["psnr_rgb"],
        "twin_rain_closer_to_rainy_than_clean_psnr":
            means["twin_rain_vs_rainy"]["psnr_rgb"] > means["clean_vs_rainy"]["psnr_rgb"],
    }
    return {"num_pairs": n, "scores": means, "checks": checks}


def run_facts(run: Path) -> dict[str, Any]:
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    log = [json.loads(ln) for ln in (run / "losses.jsonl").read_text().splitlines() if ln.strip()]
    return {"mode": cfg["mode"], "steps": cfg["steps"], "batch_size": cfg["batch_size"],
            "crop": cfg["data"]["crop"], "model": cfg["model"], "loss": cfg["loss"],
            "train_wall_s": log[-1]["time_s"] if log else None}


def plot_curves(runs: dict[str, Path], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [("g/bg", "background L1 (derain)"), ("g/rec", "reconstruction L1"),
            ("g/feat", "feature MSE"), ("g/adv_b", "G adversarial (D_B)"),
            ("d/total", "D loss (D_B + D_R)"), ("g/norain", "no-rain code"),
            ("g/transfer", "rain transfer L1"), ("g/adv_r", "G adversarial (D_R)")]
    fig, axes = plt.subplots(2, 4, figsize=(15, 6))
    for ax, (key, title) in zip(axes.flat, keys):
        for name, run in runs.items():
            log = [json.loads(ln) for ln in (run / "losses.jsonl").read_text().splitlines() if ln.strip()]
            points = [(r["step"], r[key]) for r in log if key in r]   # older runs lack new terms
            if points:
                ax.plot(*zip(*points), label=name)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("step", fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def plot_examples(nets: dict[str, DSANet], pairs: Any, path: Path,
                  indices: tuple[int, ...] = (0, 1, 2)) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    name0, first = next(iter(nets.items()))   # rainify columns use the first run

    def rainify(a: dict, r: dict, t: float) -> torch.Tensor:
        return first.rainify(a["clean"][None], r["rainy"][None], t)

    columns: list[tuple[str, Any]] = [("rainy input", lambda a, r: a["rainy"][None]),
                                      ("clean (target)", lambda a, r: a["clean"][None])]
    columns += [(f"derained [{n}]", lambda a, r, net=net: net.derain(a["rainy"][None]))
                for n, net in nets.items()]
    columns += [(f"rainify t={t} [{name0}]", lambda a, r, t=t: rainify(a, r, t)) for t in (0.25, 0.5, 1.0)]
    columns.append((f"rainify 1.0 -> derain [{name0}]", lambda a, r: first.derain(rainify(a, r, 1.0))))
    n = len(pairs)
    fig, axes = plt.subplots(len(indices), len(columns),
                             figsize=(2.6 * len(columns), 1.5 * len(indices) + 0.4))
    axes = np.atleast_2d(axes)
    for row, i in enumerate(indices):
        a, r = pairs[i % n], pairs[(i + 1) % n]
        for col, (title, fn) in enumerate(columns):
            with torch.no_grad():
                img = fn(a, r)[0]
            axes[row, col].imshow(to_uint8(img))
            axes[row, col].set_axis_off()
            if row == 0:
                axes[row, col].set_title(title, fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.dsanet.report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", action="append", required=True, help="NAME=RUN_DIR (repeatable)")
    parser.add_argument("--pairs", required=True, help="rain-pair root (e.g. generate-scenes OUT)")
    parser.add_argument("--dataset", default="rain100h")
    parser.add_argument("--split", default="test")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--out", required=True, help="folder for the JSON and PNGs")
    parser.add_argument("--rainify-output", choices=("decoded", "residual"), default=None,
                        help="rainify's output for every run (default: each checkpoint's)")
    args = parser.parse_args(argv)

    from training.data import build_dataset

    runs = dict(item.split("=", 1) for item in args.run)
    runs_p = {k: Path(v) for k, v in runs.items()}
    pairs = build_dataset(args.dataset, args.pairs, args.split)
    nets = {name: DSANet.from_checkpoint(run, rainify_output=args.rainify_output)
            for name, run in runs_p.items()}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result = {"pairs": {"dataset": args.dataset, "root": args.pairs, "split": args.split},
              "runs": {name: run_facts(run) | {"rainify_output": nets[name].rainify_output}
                       | evaluate_run(nets[name], pairs, args.limit)
                       for name, run in runs_p.items()}}
    (out / "dsanet_results.json").write_text(json.dumps(result, indent=2) + "\n")
    plot_curves(runs_p, out / "dsanet_training_curves.png")
    plot_examples(nets, pairs, out / "dsanet_examples.png")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
