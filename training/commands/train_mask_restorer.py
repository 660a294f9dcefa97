"""Train the mask generator (coarse or x8 masks -> fine) through a frozen SPADE generator.

Example:
    python -m training train-mask-restorer --config config/training/mask-restorer_synth-64x128.yaml \
        data.root=/tmp/scenes spade=runs/spade_synth task=sparse out_dir=runs/restorer_sparse
    # the paper's ablation rows switch loss terms off, e.g. CE+L1:
    python -m training train-mask-restorer --config ... task=sr8 loss.vgg=0 out_dir=runs/restorer_sr8_ce-l1
    # resume: the same command with resume=true

Everything is a config value (training.restoration.config.MaskRestorerConfig).
"""

from __future__ import annotations

from training.engine.command import parse_config
from training.restoration.config import MaskRestorerConfig


def main(argv: list[str] | None = None) -> int:
    cfg = parse_config(argv, MaskRestorerConfig, "python -m training train-mask-restorer", __doc__,
                       overrides_help="key=value overrides, e.g. task=sr8 loss.vgg=0", log=True)

    from training.restoration.restorer_trainer import train_restorer

    print(f"last checkpoint: {train_restorer(cfg)}")
    return 0
