"""Train DSANet (disentangler E, synthesiser G, discriminators D_B / D_R) on rain/clean pairs.

Example:
    python -m training train-dsanet --config config/training/dsanet_synth-128x128.yaml \
        data.root=/tmp/scenes/rain_pairs out_dir=runs/dsanet_synth steps=200
    # resume a killed run from its last checkpoint:
    python -m training train-dsanet --config config/training/dsanet_synth-128x128.yaml \
        data.root=/tmp/scenes/rain_pairs out_dir=runs/dsanet_synth resume=true
    # two processes (GPUs, or CPU with gloo):
    torchrun --nproc_per_node 2 -m training train-dsanet --config ... data.root=...

Everything is a config value (training.dsanet.config.DSANetTrainConfig); `key=value`
overrides go last. The run directory gets config.yaml, checkpoints/, tb/ and losses.jsonl.
"""

from __future__ import annotations

from training.dsanet.config import DSANetTrainConfig
from training.engine.command import parse_config


def main(argv: list[str] | None = None) -> int:
    cfg = parse_config(argv, DSANetTrainConfig, "python -m training train-dsanet", __doc__,
                       overrides_help="key=value overrides, e.g. steps=100 model.code_channels=32")

    from training.dsanet.trainer import train  # torch import only when training

    step_dir = train(cfg)
    print(f"last checkpoint: {step_dir}")
    return 0
