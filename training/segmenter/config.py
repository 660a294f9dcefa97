"""The train-segmenter config schema: every default lives here; YAMLs hold overrides.

Example (config/training/segformer-b0_rainify-dsanet_synth-256x512.yaml):
    model: {kind: segformer, kwargs: {variant: b0}}
    train:
      - {dataset: cityscapes, root: /tmp/scenes, split: train}
      - {dataset: cityscapes, root: /tmp/rainified, split: train}
    val: [{dataset: cityscapes, root: /tmp/scenes, split: val}]
    steps: 2000
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from rain_seg_ros.labels import CITYSCAPES_CLASSES, IGNORE_INDEX


@dataclass
class DataSource:
    """One labelled set of the training mix (or the validation set).

    Args:
        dataset: name for `training.data.build_dataset` ("cityscapes", "acdc", ...). Sets
            written by `rainify` have the Cityscapes layout: dataset "cityscapes".
        root: dataset root directory.
        split: split name.
        repeat: how many times the set is listed in the mix (oversampling, e.g. of a small
            real-rain set next to a large clean one).
        kwargs: extra `build_dataset` keyword arguments (e.g. {variant: rain}).
        count: use exactly this many samples of the set (e.g. translated night images mixed
            into a day set): a subset chosen by the run's seed, or the whole set repeated and
            then such a subset when count exceeds its size. 0 = the whole set `repeat` times.
        ratio: as count, given as a multiple of the number of samples of the sources that
            have neither count nor ratio (0.5 = half as many as the day set). 0 = off.
    """

    dataset: str = "cityscapes"
    root: str = ""
    split: str = "train"
    repeat: int = 1
    kwargs: dict[str, Any] = field(default_factory=dict)
    count: int = 0
    ratio: float = 0.0


@dataclass
class ModelConfig:
    """kind: a segmenter kind of training.models.MODEL_KINDS; kwargs: its constructor kwargs
    except num_classes (taken from the top level). `init_from` (a torchvision .pth or an HF
    directory) is used at construction and not recorded in the checkpoint."""

    kind: Literal["deeplabv3", "segformer", "erf_pspnet"] = "segformer"
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class AugmentConfig:
    """Joint geometric/photometric augmentation plus the rain augmentation baselines.

    Args:
        crop_size: [H, W] training crop (padded with ignore when the scaled image is smaller).
        scale_range: random rescale range before the crop.
        hflip_p: horizontal flip probability.
        color_jitter: photometric jitter on/off.
        random_rain_p: probability of albumentations `RandomRain` per sample (baseline).
        physical_rain_p: probability of the procedural generator's physical rain renderer
            per sample (baseline).
        physical_rain_intensity: [lo, hi] intensity range for the renderer.
        physical_rain_depth: "flat" (a constant depth) or "ground_plane" (a flat-road depth
            estimate below an assumed horizon; no depth network or depth files needed).
        flat_depth_m: the constant depth in metres for "flat".
    """

    crop_size: list[int] = field(default_factory=lambda: [256, 512])
    scale_range: list[float] = field(default_factory=lambda: [0.5, 2.0])
    hflip_p: float = 0.5
    color_jitter: bool = True
    random_rain_p: float = 0.0
    physical_rain_p: float = 0.0
    physical_rain_intensity: list[float] = field(default_factory=lambda: [0.3, 1.0])
    physical_rain_depth: Literal["flat", "ground_plane"] = "flat"
    flat_depth_m: float = 20.0


@dataclass
class RainifyConfig:
    """On-the-fly rainify with a frozen DSANet (off when dsanet is empty).

    Args:
        dsanet: DSANet checkpoint (run dir, step dir or .safetensors).
        rain_bank: rain-code bank file (safetensors "rain_codes").
        p: probability that a training sample is rainified.
        intensity: [lo, hi] uniform range of the rain intensity.
    """

    dsanet: str = ""
    rain_bank: str = ""
    p: float = 0.5
    intensity: list[float] = field(default_factory=lambda: [0.5, 1.0])


@dataclass
class EndToEndConfig:
    """End-to-End mode: the segmentation loss on rainified images also updates DSANet.

    Args:
        enabled: on/off (needs rainify.dsanet).
        lr: DSANet learning rate (Adam).
        train: which DSANet modules the segmentation loss updates.
    """

    enabled: bool = False
    lr: float = 1e-5
    train: Literal["encoder", "generator", "both"] = "both"


@dataclass
class TrainSegmenterConfig:
    out: str = "runs/segmenter"
    model: ModelConfig = field(default_factory=ModelConfig)
    init_checkpoint: str = ""  # fine-tune: start from this segmenter checkpoint's "model" weights
    num_classes: int = 19
    class_names: list[str] = field(default_factory=lambda: list(CITYSCAPES_CLASSES))
    ignore_index: int = IGNORE_INDEX
    class_weights: list[float] | None = None
    train: list[DataSource] = field(default_factory=lambda: [DataSource()])
    val: list[DataSource] = field(default_factory=list)
    val_size: list[int] | None = None  # [H, W] network input for validation; None: full size
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    rainify: RainifyConfig = field(default_factory=RainifyConfig)
    end_to_end: EndToEndConfig = field(default_factory=EndToEndConfig)
    optimizer: Literal["sgd", "adamw"] = "adamw"
    lr: float = 6e-5
    momentum: float = 0.9
    weight_decay: float = 0.01
    poly_power: float = 1.0
    warmup_steps: int = 0
    head_lr_mult: float = 10.0  # decode head learns faster than the pretrained encoder
    steps: int = 1000
    batch_size: int = 8  # per process
    num_workers: int = 2
    amp: bool = True  # CUDA only; ignored on CPU
    device: str = "auto"
    cpu_threads: int = 0  # torch intra-op threads; 0 keeps torch's default (1 helps on busy CPUs)
    seed: int = 0
    log_every: int = 20
    val_every: int = 500
    ckpt_every: int = 500
    keep: int = 3
    resume: bool = False
    tensorboard: bool = True
