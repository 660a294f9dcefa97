"""Config schema of `python -m training train-rain-detector` (YAML files hold overrides only)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class DetectorModelConfig:
    width: int = 16    # channels of the first conv (RainDetector)
    depth: int = 3     # stride-2 stages: one logit per 8×8 block


@dataclass
class DetectorDataConfig:
    root: str = ""               # OUT of `python -m training generate-scenes` (never a rainify output)
    train_split: str = "train"
    eval_split: str = "test"     # held-out scenes: accuracy reported and stored in the checkpoint
    max_pairs: int = 400         # per split; bounds the memory of the loaded set (uint8)


@dataclass
class RainDetectorTrainConfig:
    out_dir: str = "runs/rain_detector"
    steps: int = 600
    batch_size: int = 16         # crops per step: half rainy, half their clean twins
    crop: int = 64               # square random crops (clipped to the image size)
    lr: float = 1e-3             # Adam, cosine decay to 0 over `steps`
    veil_negatives: float = 0.5  # share of clean crops given a grey veil (still labelled clean)
    grid_negatives: float = 0.3  # share of clean crops given a 2/4/8-px block grid (still clean)
    threshold: float = 0.5       # probability above which an image is called rainy
    seed: int = 0
    cpu_threads: int = 1
    log_every: int = 100
    model: DetectorModelConfig = field(default_factory=DetectorModelConfig)
    data: DetectorDataConfig = field(default_factory=DetectorDataConfig)
