"""Train CycleGAN day <-> night (G: day->night, F: night->day, D_day, D_night) on unpaired images.

Example:
    python -m training generate-scenes --out /tmp/scenes --count 64 --size 128x256 --night
    python -m training train-cyclegan --config config/training/cyclegan_synth-128x128.yaml \
        data.root=/tmp/scenes out_dir=runs/cyclegan_synth steps=400
    # two folders of images instead, and resume a killed run:
    python -m training train-cyclegan --config ... data.source=folders data.day_root=DAY \
        data.night_root=NIGHT out_dir=runs/cyclegan resume=true
    # two processes (GPUs, or CPU with gloo):
    torchrun --nproc_per_node 2 -m training train-cyclegan --config ...

Everything is a config value (training.cyclegan.config.CycleGANTrainConfig); `key=value`
overrides go last. The run directory gets config.yaml, checkpoints/, tb/ and losses.jsonl.
"""

from __future__ import annotations

from training.cyclegan.config import CycleGANTrainConfig
from training.engine.command import parse_config


def main(argv: list[str] | None = None) -> int:
    cfg = parse_config(argv, CycleGANTrainConfig, "python -m training train-cyclegan", __doc__,
                       overrides_help="key=value overrides, e.g. steps=100 model.gen_blocks=6")

    from training.cyclegan.trainer import train  # torch import only when training

    step_dir = train(cfg)
    print(f"last checkpoint: {step_dir}")
    return 0
