"""Schema of `python -m training experiment-mask-restoration`: the paper's two ablation
tables and the closed loop, on procedural scenes (docs/mask_restoration.md).

Example (config/training/experiment-mask-restoration_synth-32x64.yaml):
    out: runs/experiment-mask-restoration_synth-32x64
    scenes: {count: 160, size: [32, 64]}
    seeds: [0, 1, 2]
"""

from __future__ import annotations

from dataclasses import dataclass, field

from training.segmenter.config import ModelConfig
from training.segmenter.experiment_config import ScenesConfig

# Ablation rows: name -> (ce, vgg, l1) loss weights. "none" (no restoration) is scored
# on the incomplete masks themselves and needs no training.
LOSS_ROWS: dict[str, tuple[float, float, float]] = {
    "CE": (1.0, 0.0, 0.0),
    "CE+VGG": (1.0, 1.0, 0.0),
    "CE+L1": (1.0, 0.0, 1.0),
    "CE+VGG+L1": (1.0, 1.0, 1.0),
}
TASKS = ("sparse", "sr8")


@dataclass
class SegmenterStage:
    """The project segmenter: trained on fine labels, it is the perceptual/FID feature network
    (no VGG/Inception weights here), the FCN-score judge and the closed loop's "fine" row."""

    model: ModelConfig = field(default_factory=lambda: ModelConfig(
        "erf_pspnet", {"channels": [8, 16, 32], "head_channels": 32}))
    steps: int = 300
    overrides: list[str] = field(default_factory=lambda: [
        "optimizer=adamw", "lr=2.0e-3", "head_lr_mult=1.0", "weight_decay=1.0e-4", "warmup_steps=20"])


@dataclass
class MaskRestorationExperimentConfig:
    """Args:
        size: [H, W] of scenes, SPADE and restorers (multiples of 2^generator.num_up).
        seeds: every restorer row is trained and scored once per seed (mean ± std).
        rows: a subset of LOSS_ROWS; tasks: a subset of TASKS.
        closed_loop_row: the restorer row (sparse task, first seed) whose restored coarse
            labels train the closed loop's "restored" segmenter and fill the grids; "best":
            the row of highest mean mIoU on eval_split.
        spade_overrides, restorer_overrides: key=value on top of the two YAML configs.
        eval_split: split the restorers are scored on; test_split: the closed loop's.
    """

    out: str = "runs/experiment-mask-restoration"
    scenes: ScenesConfig = field(default_factory=lambda: ScenesConfig(
        count=160, size=[32, 64], splits="train=0.7,val=0.15,test=0.15"))
    labels: str = "label_ids"
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    tasks: list[str] = field(default_factory=lambda: list(TASKS))
    rows: list[str] = field(default_factory=lambda: list(LOSS_ROWS))
    closed_loop_row: str = "CE+VGG+L1"
    spade_config: str = "config/training/spade_synth-32x64.yaml"
    spade_overrides: list[str] = field(default_factory=list)
    restorer_config: str = "config/training/mask-restorer_synth-32x64.yaml"
    restorer_overrides: list[str] = field(default_factory=list)
    segmenter: SegmenterStage = field(default_factory=SegmenterStage)
    segmenter_batch_size: int = 8
    eval_split: str = "val"
    test_split: str = "test"
    device: str = "cpu"
    cpu_threads: int = 1
