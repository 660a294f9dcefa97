"""The train-dannet config schema: every default lives here; YAML files hold overrides.

Defaults follow the spec (night.md): loss weights 1 / 1 / 0.1 / 0.01 (light, segmentation,
static, adversarial), light-loss terms 10 / 1 / 1, focal gamma 1, SGD lr 2.5e-4 momentum 0.9
with a poly schedule, discriminator strides 2, 2, 1, 1, 1. A weight of 0 switches its loss off
(the ablation rows of docs/dannet.md).

Example (config/training/dannet_erf-pspnet_synth-64x128.yaml):
    model: {kind: erf_pspnet, kwargs: {channels: [8, 32, 64], head_channels: 64}}
    source: {dataset: cityscapes, root: /tmp/scenes, split: train}
    target:
      day: {dataset: cityscapes, root: /tmp/scenes, split: train, kwargs: {variant: clean}}
      night: {dataset: cityscapes, root: /tmp/scenes, split: train, kwargs: {variant: night}}
      misalign_px: 4
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from rain_seg_ros.labels import CITYSCAPES_CLASSES, IGNORE_INDEX, STATIC_CLASSES
from training.segmenter.config import AugmentConfig, DataSource, ModelConfig


@dataclass
class RelightConfig:
    """enabled: false leaves images as they are (the source-only ablation)."""

    enabled: bool = True
    base_channels: int = 16
    num_blocks: int = 2


@dataclass
class DiscriminatorConfig:
    channels: list[int] = field(default_factory=lambda: [64, 128, 256, 256, 1])
    strides: list[int] = field(default_factory=lambda: [2, 2, 1, 1, 1])
    lr: float = 1e-4                 # Adam, poly schedule (the reference implementation's)
    betas: list[float] = field(default_factory=lambda: [0.9, 0.99])


@dataclass
class LossConfig:
    """Weights of the generator loss terms; 0 switches a term off."""

    light: float = 1.0
    seg: float = 1.0
    static: float = 0.1
    adv: float = 0.01
    tv: float = 10.0                 # inside the light loss
    exposure: float = 1.0
    ssim: float = 1.0
    exposure_patch: int = 32
    focal_gamma: float = 1.0


@dataclass
class TargetConfig:
    """Unlabelled target day/night images.

    Args:
        day, night: the two sets (labels, if any, are not used). With pairing "ref", day is
            unused: the night set is read with return_ref=True (Dark Zurich's correspondences).
        pairing: "index" (twin i with twin i, e.g. generate-scenes --night, same counts),
            "ref" (each night image's own day reference), "random" (unpaired, e.g. BDD100K).
        size: [H, W] both images are resized to before the shared crop (empty: keep size).
        misalign_px: largest random shift of the day image against the night one, in pixels
            of the crop; with misalign_scale (largest relative zoom) it imitates Dark Zurich's
            GPS-aligned pairs on pixel-aligned procedural twins.
    """

    # No default kwargs: they would be merged into every YAML's (e.g. a "variant" that Dark
    # Zurich's reader does not take). The procedural twins say {variant: clean|night} themselves.
    day: DataSource = field(default_factory=DataSource)
    night: DataSource = field(default_factory=DataSource)
    pairing: Literal["index", "ref", "random"] = "index"
    size: list[int] = field(default_factory=list)
    misalign_px: int = 0
    misalign_scale: float = 0.0


@dataclass
class TrainDANNetConfig:
    out: str = "runs/dannet"
    model: ModelConfig = field(default_factory=lambda: ModelConfig("erf_pspnet", {}))
    init_checkpoint: str = ""        # start the segmenter from this segmenter checkpoint's "model"
    relight: RelightConfig = field(default_factory=RelightConfig)
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    num_classes: int = 19
    class_names: list[str] = field(default_factory=lambda: list(CITYSCAPES_CLASSES))
    ignore_index: int = IGNORE_INDEX
    static_classes: list[int] = field(default_factory=lambda: list(STATIC_CLASSES))
    class_shares: list[float] | None = None   # source class pixel shares; None: counted from labels
    source: DataSource = field(default_factory=DataSource)
    target: TargetConfig = field(default_factory=TargetConfig)
    val: list[DataSource] = field(default_factory=list)   # labelled night (and day) sets
    augment: AugmentConfig = field(default_factory=lambda: AugmentConfig(crop_size=[512, 1024]))
    optimizer: Literal["sgd", "adamw"] = "sgd"
    lr: float = 2.5e-4
    momentum: float = 0.9
    weight_decay: float = 5e-4
    poly_power: float = 0.9
    warmup_steps: int = 0
    head_lr_mult: float = 10.0
    steps: int = 50000
    batch_size: int = 4              # per process, per domain
    num_workers: int = 2
    amp: bool = True                 # CUDA only; ignored on CPU
    device: str = "auto"
    cpu_threads: int = 0
    seed: int = 0
    log_every: int = 20
    image_every: int = 500
    val_every: int = 2000
    ckpt_every: int = 1000           # a kill loses at most this many steps
    keep: int = 3
    resume: bool = False
    tensorboard: bool = True
    progress: bool = True
