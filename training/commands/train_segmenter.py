"""Train or fine-tune a segmenter (DeepLabV3, SegFormer, ERF-PSPNet) on a mix of clean,
rainified and real-rain sets, optionally rainifying on the fly with DSANet (or End-to-End).

Example:
    python -m training generate-scenes --out /tmp/scenes --count 64 --size 128x256 --seed 0
    python -m training train-segmenter --config config/training/erf-pspnet_clean_synth-128x256.yaml \
        'train=[{root: /tmp/scenes}]' 'val=[{root: /tmp/scenes, split: val}]' out=/tmp/seg steps=200
    # 2 processes (2 GPUs, or gloo on CPU):
    torchrun --nproc_per_node 2 -m training train-segmenter --config ... key=value ...
    # resume after an interruption:
    python -m training train-segmenter --config ... out=/tmp/seg resume=true

Writes OUT/config.yaml, OUT/checkpoints/step_*/ (safetensors + resume state),
OUT/metrics.jsonl (loss, lr, val mIoU) and OUT/tensorboard/.
"""

from __future__ import annotations

from training.engine.command import config_parser, log_info
from training.engine.config import resolve_config


def main(argv: list[str]) -> int:
    parser = config_parser("python -m training train-segmenter", __doc__,
                           config_help="YAML of overrides (config/training/*.yaml)",
                           overrides_help="key=value overrides, e.g. steps=100 model.kind=deeplabv3")
    args = parser.parse_intermixed_args(argv)
    log_info()

    from training.segmenter.config import TrainSegmenterConfig
    from training.segmenter.trainer import train

    # A bad config (ConfigError) is reported by the dispatcher: one line, exit status 2.
    cfg = resolve_config(TrainSegmenterConfig, args.config, args.overrides)
    step_dir = train(cfg)
    print(f"checkpoint: {step_dir}")
    return 0
