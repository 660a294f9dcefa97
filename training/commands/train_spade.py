"""Train the SPADE mask->image generator (stage 1 of mask restoration; frozen in stage 2).

Example:
    python -m training generate-scenes --out /tmp/scenes --count 200 --size 64x128
    python -m training train-spade --config config/training/spade_synth-64x128.yaml \
        data.root=/tmp/scenes out_dir=runs/spade_synth steps=300
    # resume a killed run:
    python -m training train-spade --config ... data.root=/tmp/scenes out_dir=runs/spade_synth resume=true
    # perceptual loss with real VGG19 weights (torchvision layout, never downloaded here):
    python -m training train-spade --config ... perceptual.vgg19=/models/vgg19-dcbb9e9d.pth

Everything is a config value (training.restoration.config.SpadeTrainConfig); `key=value`
overrides go last. The run directory gets config.yaml, checkpoints/, tb/ and losses.jsonl.
"""

from __future__ import annotations

from training.engine.command import parse_config
from training.restoration.config import SpadeTrainConfig


def main(argv: list[str] | None = None) -> int:
    cfg = parse_config(argv, SpadeTrainConfig, "python -m training train-spade", __doc__,
                       overrides_help="key=value overrides, e.g. steps=100", log=True)

    from training.restoration.spade_trainer import train_spade

    print(f"last checkpoint: {train_spade(cfg)}")
    return 0
