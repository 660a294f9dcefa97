"""Train the condition estimator (clear / rain / night + rain intensity) on procedural scenes,
ACDC, BDD100K or folder-per-condition trees.

Example:
    python -m training generate-scenes --out /tmp/scenes --count 64 --size 128x256 --night --seed 0
    python -m training train-condition --config config/training/condition-net_synth-128x256.yaml \
        'train=[{source: scenes, root: /tmp/scenes}]' \
        'val=[{source: scenes, root: /tmp/scenes, split: val}]' out=/tmp/condition steps=300
    # resume after an interruption:
    python -m training train-condition --config ... out=/tmp/condition resume=true

Writes OUT/config.yaml, OUT/checkpoints/step_*/ (safetensors + resume state),
OUT/metrics.jsonl (loss, lr, val accuracy) and OUT/tensorboard/.
"""

from __future__ import annotations

import argparse
import logging

from training.engine.config import resolve_config


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m training train-condition", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="YAML of overrides (config/training/condition*.yaml)")
    parser.add_argument("overrides", nargs="*", help="key=value overrides, e.g. steps=100 model.width=8")
    args = parser.parse_intermixed_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    from training.condition.config import TrainConditionConfig
    from training.condition.trainer import train

    cfg = resolve_config(TrainConditionConfig, args.config, args.overrides)
    step_dir = train(cfg)
    print(f"checkpoint: {step_dir}")
    return 0
