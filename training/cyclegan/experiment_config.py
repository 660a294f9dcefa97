"""Schema of `python -m training experiment night`: day-only baseline, Method 1 (night->day at
inference), Method 2 (translated night images in training, count swept), DANNet when given,
and an oracle, over several seeds.

Example (config/training/experiment-night_synth-64x128.yaml):
    out: runs/experiment-night_synth-64x128
    scenes: {count: 160, size: [64, 128]}
    seeds: [0, 1, 2]
    counts: [0.25, 0.5, 1.0, 2.0]
"""

from __future__ import annotations

from dataclasses import dataclass, field

from training.segmenter.config import ModelConfig
from training.segmenter.experiment_config import SegmenterEntry

METHODS = ("baseline", "method1", "method2", "dannet", "oracle")


@dataclass
class NightScenes:
    """generate-scenes --night into OUT/scenes, or an existing output with night twins (root)."""

    root: str = ""
    count: int = 160
    size: list[int] = field(default_factory=lambda: [64, 128])
    seed: int = 0
    splits: str = "train=0.8,val=0.1,test=0.1"
    workers: int = 1


@dataclass
class CycleGANStage:
    """A trained CycleGAN (checkpoint), or one trained here with config + overrides on OUT/scenes."""

    checkpoint: str = ""
    config: str = "config/training/cyclegan_synth-128x128.yaml"
    overrides: list[str] = field(default_factory=list)


@dataclass
class DANNetStage:
    """The DANNet row: segmenter checkpoints (one per seed, or one for all) evaluated as they are.
    Empty: no DANNet row."""

    checkpoints: list[str] = field(default_factory=list)


@dataclass
class NightExperimentConfig:
    """Args:
        steps: training steps of every segmenter run (baseline, each count, oracle).
        counts: translated night images added to the day set, as multiples of its size
            (0 is the baseline itself and is not trained twice).
        seeds: every trained row is trained once per seed; tables give mean ± std.
        train_overrides: key=value for every train-segmenter run.
    """

    out: str = "runs/experiment-night"
    scenes: NightScenes = field(default_factory=NightScenes)
    cyclegan: CycleGANStage = field(default_factory=CycleGANStage)
    dannet: DANNetStage = field(default_factory=DANNetStage)
    segmenters: list[SegmenterEntry] = field(default_factory=lambda: [
        SegmenterEntry("erf-pspnet", ModelConfig("erf_pspnet", {})),
        SegmenterEntry("segformer-b0-mini", ModelConfig("segformer", {
            "variant": "b0", "hidden_sizes": [16, 32, 80, 128], "decoder_hidden_size": 128})),
    ])
    methods: list[str] = field(default_factory=lambda: list(METHODS))
    counts: list[float] = field(default_factory=lambda: [0.125, 0.25, 0.5, 1.0, 2.0])
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    steps: int = 300
    batch_size: int = 8
    crop_size: list[int] = field(default_factory=lambda: [64, 128])
    train_overrides: list[str] = field(default_factory=list)
    eval_split: str = "test"
    device: str = "auto"
    cpu_threads: int = 0
