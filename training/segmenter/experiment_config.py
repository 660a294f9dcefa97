"""Schema of `python -m training experiment rain`: the thesis's comparison on one dataset.

Example (config/training/experiment-rain_synth-128x256.yaml):
    out: runs/experiment-rain_synth-128x256
    scenes: {count: 400, size: [128, 256]}
    pretrain_steps: 600
    finetune_steps: 300
"""

from __future__ import annotations

from dataclasses import dataclass, field

from training.segmenter.config import ModelConfig

METHODS = ("baseline", "ours", "input1", "end_to_end", "derain", "random_rain", "physical_rain")
CONDITIONS = ("clean", "dsanet_rain", "rendered_rain")


@dataclass
class ScenesConfig:
    """The labelled data: an existing generate-scenes output, or generated into OUT/scenes."""

    root: str = ""
    count: int = 400
    size: list[int] = field(default_factory=lambda: [128, 256])
    seed: int = 0
    splits: str = "train=0.8,val=0.1,test=0.1"
    rain_intensity: list[float] = field(default_factory=lambda: [0.3, 1.0])
    workers: int = 1


@dataclass
class DSANetStage:
    """DSANet ("ours") and its Input-1 ablation: given checkpoints, or trained here.

    Args:
        checkpoint, input1_checkpoint: trained DSANets to use; empty trains one with the
            config (+ overrides) on OUT/scenes/rain_pairs.
        styles: rain references (codes) in the bank used for rainify.
        train_intensity: [lo, hi] intensity of the rainified training copies and of
            on-the-fly rainify (End-to-End).
        eval_intensity: intensity of the DSANet-rainified test split.
    """

    checkpoint: str = ""
    config: str = "config/training/dsanet_synth-128x128.yaml"
    input1_checkpoint: str = ""
    input1_config: str = "config/training/dsanet-input1_synth-128x128.yaml"
    overrides: list[str] = field(default_factory=list)
    styles: int = 16
    train_intensity: list[float] = field(default_factory=lambda: [0.5, 1.0])
    eval_intensity: float = 0.8


@dataclass
class SegmenterEntry:
    """One segmenter of the comparison; `overrides` are extra train-segmenter key=value."""

    name: str = "segformer"
    model: ModelConfig = field(default_factory=ModelConfig)
    overrides: list[str] = field(default_factory=list)


@dataclass
class ExperimentConfig:
    """Args:
        pretrain_steps: clean training shared by every method (the "pretrained" segmenter).
        finetune_steps: each method's fine-tuning from it; the baseline fine-tunes on clean
            data for the same steps, so every row has seen the same number of batches.
        rain_p: share of rainy samples in the rain methods (rainified copies mixed 1:1 with
            clean ones, or the probability of the augmentation).
        train_overrides: key=value applied to every train-segmenter run.
        methods, conditions: subsets to run. DSANet is trained (or loaded) only when a method
            or condition needs it, so e.g. methods [baseline, random_rain, physical_rain] with
            conditions [clean, rendered_rain] runs without one.
        seeds: the whole chain (DSANet training unless a checkpoint is given, rainify, every
            segmenter run) is repeated once per seed under OUT/seed<N>; the table gives
            mean ± std over them and the paired differences between methods.
    """

    out: str = "runs/experiment-rain"
    scenes: ScenesConfig = field(default_factory=ScenesConfig)
    dsanet: DSANetStage = field(default_factory=DSANetStage)
    segmenters: list[SegmenterEntry] = field(default_factory=lambda: [
        SegmenterEntry("segformer", ModelConfig("segformer", {"variant": "b0"})),
        SegmenterEntry("deeplabv3", ModelConfig("deeplabv3", {"backbone": "resnet50"})),
    ])
    methods: list[str] = field(default_factory=lambda: list(METHODS))
    conditions: list[str] = field(default_factory=lambda: list(CONDITIONS))
    pretrain_steps: int = 600
    finetune_steps: int = 300
    rain_p: float = 0.5
    crop_size: list[int] = field(default_factory=lambda: [128, 256])
    batch_size: int = 8
    train_overrides: list[str] = field(default_factory=list)
    eval_split: str = "test"
    seeds: list[int] = field(default_factory=lambda: [0])
    device: str = "auto"
    cpu_threads: int = 0
