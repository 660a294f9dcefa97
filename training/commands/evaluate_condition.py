"""Evaluate a condition-estimator checkpoint: confusion matrix over clear / rain / night /
rain+night, per-head accuracy and rain-intensity error, as JSON. With --other-renderer, the
clear images of the set are also rendered as rain (albumentations RandomRain), night (gamma,
colour cast, noise) and both, and scored separately under "other_renderer".

Example:
    python -m training evaluate-condition --checkpoint /tmp/condition \
        --source scenes --root /tmp/scenes --split test --other-renderer --out /tmp/condition/test.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m training evaluate-condition", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", required=True, help="run dir, step dir or model.safetensors")
    parser.add_argument("--source", default="scenes", choices=("scenes", "acdc", "bdd100k", "folders"),
                        help="dataset layout (default %(default)s)")
    parser.add_argument("--root", required=True, help="dataset root")
    parser.add_argument("--split", default="test", help="split (default %(default)s; ignored for folders)")
    parser.add_argument("--other-renderer", action="store_true",
                        help="also score rain/night that other renderers synthesise from the clear images")
    parser.add_argument("--seed", type=int, default=0, help="seed of the other-renderer variants")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default %(default)s)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error(f"--batch-size must be >= 1, got {args.batch_size}")

    from training.condition.data import ConditionDataset
    from training.condition.evaluation import evaluate_condition, load_condition_model
    from training.condition.other_renderer import other_renderer_set
    from training.condition.sources import find_condition_items

    model, meta = load_condition_model(args.checkpoint, args.device)
    size = meta["input_size"]
    items = find_condition_items(args.source, args.root, args.split)
    run = dict(device=args.device, batch_size=args.batch_size, mean=meta["mean"], std=meta["std"])
    report = {"checkpoint": str(args.checkpoint), "dataset": f"{args.source} {args.root} [{args.split}]",
              **evaluate_condition(model, ConditionDataset(items, size), **run)}
    if args.other_renderer:
        clear = [it for it in items if it.rain == 0 and it.night == 0]
        report["other_renderer"] = {
            "renderers": {"rain": "albumentations RandomRain",
                          "night": "gamma + underexposure + colour cast + noise"},
            "clear_images": len(clear),
            **evaluate_condition(model, other_renderer_set(clear, size, args.seed), **run)}
    text = json.dumps(report, indent=2)
    print(text)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    return 0
