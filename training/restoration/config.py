"""Config schemas of train-spade and train-mask-restorer: every default lives here; YAML files
under config/training/ (spade_*.yaml, mask-restorer_*.yaml) hold overrides only.

Example:
    cfg = resolve_config(SpadeTrainConfig, "config/training/spade_synth-64x128.yaml", ["steps=50"])
    cfg = resolve_config(MaskRestorerConfig, "config/training/mask-restorer_synth-64x128.yaml",
                         ["task=sr8", "spade=runs/spade_synth-64x128"])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from training.restoration.incomplete import IncompleteConfig


@dataclass
class DataConfig:
    """Cityscapes-layout data (real, or a generate-scenes OUT). size: [H, W] every sample is
    resized to; multiples of 2^model.num_up."""

    root: str = ""
    split: str = "train"
    size: list[int] = field(default_factory=lambda: [256, 512])
    flip: bool = True
    num_workers: int = 2


@dataclass
class GeneratorConfig:
    """SPADE generator sizes (training.models.spade.SPADEGenerator); the paper's are larger."""

    base_channels: int = 32
    num_up: int = 5
    hidden: int = 64
    norm: Literal["instance", "batch"] = "instance"
    spectral: bool = True


@dataclass
class DiscriminatorConfig:
    base_channels: int = 64
    num_layers: int = 4      # per scale (SPADE: 4)
    num_d: int = 2           # scales (SPADE: 2)


@dataclass
class PerceptualConfig:
    """The VGG loss's network: torchvision VGG19 `.pth`, else (loud warning) a segmenter run."""

    vgg19: str = ""
    segmenter: str = ""


@dataclass
class SpadeLossConfig:
    """SPADE's generator loss: hinge GAN + feat * feature matching + vgg * perceptual."""

    feat: float = 10.0
    vgg: float = 10.0


@dataclass
class CommonTrainConfig:
    out_dir: str = "runs/spade"
    labels: Literal["label_ids", "train_ids"] = "label_ids"
    steps: int = 20000
    batch_size: int = 4
    betas: list[float] = field(default_factory=lambda: [0.0, 0.9])   # SPADE's TTUR Adam betas
    amp: bool = True            # float16 autocast + GradScaler, CUDA only (ignored on CPU)
    device: str = "auto"
    cpu_threads: int = 0
    seed: int = 0
    save_every: int = 1000
    keep: int = 3
    log_every: int = 20
    image_every: int = 500
    resume: bool = False
    progress: bool = True
    data: DataConfig = field(default_factory=DataConfig)
    perceptual: PerceptualConfig = field(default_factory=PerceptualConfig)


@dataclass
class SpadeTrainConfig(CommonTrainConfig):
    lr_g: float = 1e-4
    lr_d: float = 4e-4
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    loss: SpadeLossConfig = field(default_factory=SpadeLossConfig)


@dataclass
class RestorerLossConfig:
    """L_total = ce * CE(r, x) + vgg * L_VGG(s, y) + l1 * L1(s, y); 0 switches a term off
    (the paper's ablation rows: CE, CE+VGG, CE+L1, CE+VGG+L1)."""

    ce: float = 1.0
    vgg: float = 1.0
    l1: float = 1.0


@dataclass
class MaskRestorerConfig(CommonTrainConfig):
    """task: "sparse" (coarse -> fine) or "sr8" (x8 super-resolution); incomplete.task follows it."""

    out_dir: str = "runs/mask-restorer"
    task: Literal["sparse", "sr8"] = "sparse"
    spade: str = ""             # the trained (frozen) SPADE run / checkpoint
    lr: float = 2e-4
    betas: list[float] = field(default_factory=lambda: [0.5, 0.999])
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    incomplete: IncompleteConfig = field(default_factory=IncompleteConfig)
    loss: RestorerLossConfig = field(default_factory=RestorerLossConfig)
