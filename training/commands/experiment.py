"""`experiment rain`: the thesis's rain comparison, end to end, on one dataset: clean-trained baseline,
fine-tuned on DSANet-rainified data (Ours), Input-1 DSANet, End-to-End, derain-then-segment,
RandomRain and physical-rain fine-tuning; each evaluated on clean, DSANet-rainified and
independently rendered rainy test images, for every configured segmenter.

Example:
    python -m training experiment rain --config config/training/experiment-rain_synth-128x256.yaml
    # reuse trained DSANets and a small run:
    python -m training experiment rain --config ... dsanet.checkpoint=runs/dsanet \
        dsanet.input1_checkpoint=runs/dsanet_input1 pretrain_steps=100 finetune_steps=50

`experiment dannet`: the DANNet ablation on procedural day/night twins (docs/dannet.md):
    python -m training experiment dannet --config config/training/experiment-dannet_synth-64x128.yaml
`experiment night`: CycleGAN day<->night (Method 1, Method 2 with a count sweep, oracle, DANNet
when given) over several seeds (training/cyclegan/experiment.py):
    python -m training experiment night --config config/training/experiment-night_synth-64x128.yaml

Writes OUT/results.json and OUT/results.md (tables with per-class IoU and wall times).
Interrupted runs continue where they stopped when started again with the same OUT.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from training.engine.command import log_info
from training.engine.config import ConfigError, resolve_config

EXPERIMENTS = ("rain", "dannet", "night")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m training experiment", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", choices=EXPERIMENTS, help="which experiment")   # before the overrides
    parser.add_argument("--config", help="YAML of overrides (config/training/experiment-*.yaml)")
    parser.add_argument("overrides", nargs="*", help="key=value overrides")
    args = parser.parse_intermixed_args(argv)
    log_info()

    if args.name == "dannet":   # the DANNet ablation (training/dannet/experiment.py)
        from training.dannet.experiment import run_experiment as run_dannet
        from training.dannet.experiment_config import DANNetExperimentConfig

        return _run(parser, args, DANNetExperimentConfig, run_dannet)
    if args.name == "night":   # CycleGAN day<->night (training/cyclegan/experiment.py)
        from training.cyclegan.experiment import run_night_experiment
        from training.cyclegan.experiment_config import NightExperimentConfig

        return _run(parser, args, NightExperimentConfig, run_night_experiment)
    from training.segmenter.experiment import run_experiment
    from training.segmenter.experiment_config import ExperimentConfig

    return _run(parser, args, ExperimentConfig, run_experiment)


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace, schema: type[Any],
         run: Callable[[Any], Any]) -> int:
    """Resolve the experiment's config (a bad one is a usage error), run it, name its table."""
    try:
        cfg = resolve_config(schema, args.config, args.overrides)
    except ConfigError as exc:
        parser.error(str(exc))
    run(cfg)
    print(f"results: {cfg.out}/results.md")
    return 0
