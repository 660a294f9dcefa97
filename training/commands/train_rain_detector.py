"""`python -m training train-rain-detector` — a small rain/no-rain classifier trained on real
procedural rainy vs clean twins (never on DSANet output), to judge whether rain looks like rain.

Example:
    python -m training generate-scenes --out /tmp/rd_scenes --count 120 --size 256x512 --seed 1 \\
        --splits train=100,val=0,test=20
    python -m training train-rain-detector --config config/training/rain-detector_synth-256x512.yaml \\
        data.root=/tmp/rd_scenes out_dir=runs/rain_detector

Trains on data.train_split and scores the held-out data.eval_split scenes whole. Prints one
JSON object: checkpoint, held-out accuracy (rainy vs clean), the share of veiled clean images
called rainy, wall time. The checkpoint (out_dir/checkpoints/step_*/model.safetensors) records
the same numbers; `python -m training measure-rain --detector out_dir` uses it.
Schema: training/rain_realism/config.py; `key=value` overrides go last.
"""

from __future__ import annotations

import json

from training.engine.command import config_parser
from training.engine.config import resolve_config
from training.rain_realism.config import RainDetectorTrainConfig


def main(argv: list[str] | None = None) -> int:
    parser = config_parser("python -m training train-rain-detector", __doc__,
                           overrides_help="key=value overrides, e.g. data.root=/tmp/scenes steps=300")
    args = parser.parse_args(argv)
    cfg = resolve_config(RainDetectorTrainConfig, args.config, args.overrides)
    if not cfg.data.root:
        parser.error("data.root=OUT of `python -m training generate-scenes` is required")

    from training.rain_realism.train import train  # torch import only when training

    step_dir, report = train(cfg)
    print(json.dumps({"checkpoint": str(step_dir), **report}, indent=2))
    return 0
