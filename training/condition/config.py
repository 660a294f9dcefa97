"""The train-condition config schema: every default lives here; YAMLs hold overrides.

Example (config/training/condition-net_synth-128x256.yaml):
    train: [{source: scenes, root: /tmp/scenes, split: train}]
    val: [{source: scenes, root: /tmp/scenes, split: val}]
    steps: 600
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass
class ConditionSource:
    """One set of condition-labelled images (see training/condition/data.py for the layouts).

    Args:
        source: "scenes" (generate-scenes output: clean/rain/night twins, labels from its
            manifest), "acdc" (condition from its folders), "bdd100k" (weather and time-of-day
            attributes), "folders" (ROOT/<condition>/... image trees).
        root: dataset root directory.
        split: split name ("scenes", "acdc", "bdd100k"); ignored for "folders".
        repeat: how many times the set is listed in the mix (oversampling).
        kwargs: reader options (e.g. {attributes_json: FILE} for bdd100k).
    """

    source: Literal["scenes", "acdc", "bdd100k", "folders"] = "scenes"
    root: str = ""
    split: str = "train"
    repeat: int = 1
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class ConditionModelConfig:
    """ConditionNet constructor kwargs (training/models/condition_net.py)."""

    width: int = 16
    stages: int = 4
    dropout: float = 0.1


@dataclass
class ConditionAugmentConfig:
    """Label-preserving augmentation: flips, crops and mild colour jitter (brightness jitter is
    kept small so that a dark day never looks like a labelled night)."""

    hflip_p: float = 0.5
    crop_scale: list[float] = field(default_factory=lambda: [0.7, 1.0])  # crop side as share of the image
    jitter: float = 0.1   # +- relative contrast/saturation and +- brightness (x 0.5)


@dataclass
class TrainConditionConfig:
    out: str = "runs/condition"
    model: ConditionModelConfig = field(default_factory=ConditionModelConfig)
    input_size: list[int] = field(default_factory=lambda: [128, 256])  # [H, W] the network sees
    train: list[ConditionSource] = field(default_factory=lambda: [ConditionSource()])
    val: list[ConditionSource] = field(default_factory=list)
    augment: ConditionAugmentConfig = field(default_factory=ConditionAugmentConfig)
    intensity_weight: float = 1.0   # weight of the intensity loss beside the two condition losses
    lr: float = 2e-3
    weight_decay: float = 1e-4
    steps: int = 600
    batch_size: int = 32  # per process
    num_workers: int = 2
    amp: bool = True  # CUDA only; ignored on CPU
    device: str = "auto"
    cpu_threads: int = 0
    seed: int = 0
    log_every: int = 20
    val_every: int = 200
    ckpt_every: int = 200
    keep: int = 3
    resume: bool = False
    tensorboard: bool = True
