"""Train DANNet: night adaptation with a relighting network, served later as one segmenter.

Example:
    python -m training generate-scenes --out /tmp/scenes --count 64 --size 64x128 --seed 0 --night
    python -m training train-dannet --config config/training/dannet_erf-pspnet_synth-64x128.yaml \
        source.root=/tmp/scenes target.day.root=/tmp/scenes target.night.root=/tmp/scenes \
        out=/tmp/dannet steps=200
    # Cityscapes -> Dark Zurich on a GPU (the paper's setting, ERF-PSPNet or DeepLabV3):
    python -m training train-dannet \
        --config config/training/dannet_deeplabv3-r101_cityscapes-darkzurich-512x1024.yaml \
        source.root=/data/cityscapes target.night.root=/data/dark_zurich
    # 2 processes, and resume after an interruption:
    torchrun --nproc_per_node 2 -m training train-dannet --config ... out=/tmp/dannet resume=true

Writes OUT/config.yaml, OUT/checkpoints/step_*/ (safetensors + resume state; the "model"
module is relight -> segment -> re-weighting, evaluated and exported like any segmenter),
OUT/metrics.jsonl and OUT/tensorboard/ (loss scalars, night | relit | prediction grids).
Errors in the input are one line; --debug shows the traceback.
"""

from __future__ import annotations

import sys

from training.engine.checkpoint import CheckpointError
from training.engine.command import config_parser, log_info
from training.engine.config import ConfigError, resolve_config


def main(argv: list[str]) -> int:
    parser = config_parser("python -m training train-dannet", __doc__,
                           config_help="YAML of overrides (config/training/dannet*.yaml)",
                           overrides_help="key=value overrides, e.g. steps=100 loss.adv=0")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of input errors")
    args = parser.parse_intermixed_args(argv)
    log_info()

    from training.dannet.config import TrainDANNetConfig
    from training.dannet.trainer import train

    try:
        cfg = resolve_config(TrainDANNetConfig, args.config, args.overrides)
        step_dir = train(cfg)
    except (ConfigError, CheckpointError, FileExistsError, FileNotFoundError, ValueError) as exc:
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"checkpoint: {step_dir}")
    return 0
