"""The train-cyclegan config schema: every default lives here, YAML files hold overrides.

Defaults are the CycleGAN paper's (ResNet generator with 9 blocks / width 64, 70x70
PatchGAN, least-squares GAN loss, cycle weight 10, identity 0.5 x 10, pool of 50, Adam 2e-4
beta1 0.5, constant lr for the first half and a linear decay to 0 over the second half).

Example:
    from training.engine.config import resolve_config
    cfg = resolve_config(CycleGANTrainConfig, "config/training/cyclegan_synth-128x128.yaml", ["steps=50"])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass
class ModelConfig:
    gen_channels: int = 64       # generator width (the paper: 64)
    gen_blocks: int = 9          # residual blocks (the paper: 9 at 256x256, 6 at 128x128)
    gen_down: int = 2            # stride-2 stages; crops must be multiples of 2^gen_down
    disc_channels: int = 64      # PatchGAN first-layer width
    disc_layers: int = 3         # 3 = the 70x70 PatchGAN


@dataclass
class LossConfig:
    gan: Literal["lsgan", "bce", "hinge"] = "lsgan"
    cycle: float = 10.0          # lambda of both cycle terms
    identity: float = 0.5        # identity weight as a fraction of `cycle` (0 switches it off)


@dataclass
class DataConfig:
    """Unpaired day and night images (training.cyclegan.data).

    source: "folders" (day_root and night_root: any two folders of images),
        "scenes" (root = a generate-scenes output with --night: cityscapes/ and cityscapes_night/),
        "bdd100k" (root; timeofday daytime vs night), "dark_zurich" (root; day vs night).
    Twins (the same scene in both domains: procedural twins, Dark Zurich correspondences,
    same-named files in two folders) are never both used: each twin goes to one domain only.
    """

    source: Literal["folders", "scenes", "bdd100k", "dark_zurich"] = "scenes"
    root: str = ""
    day_root: str = ""
    night_root: str = ""
    split: str = "train"
    resize: list[int] = field(default_factory=list)   # [H, W] before cropping; empty keeps the size
    crop: list[int] = field(default_factory=lambda: [256, 256])   # [H, W]
    flip: bool = True
    num_workers: int = 2


@dataclass
class CycleGANTrainConfig:
    out_dir: str = "runs/cyclegan"
    steps: int = 20000
    batch_size: int = 1          # per process (the paper: 1)
    lr: float = 2e-4
    betas: list[float] = field(default_factory=lambda: [0.5, 0.999])
    decay_start: float = 0.5     # fraction of steps after which lr falls linearly to 0
    pool_size: int = 50          # history of generated images shown to D (0 = latest only)
    amp: bool = True             # float16 autocast + GradScaler, CUDA only (ignored on CPU)
    device: str = "auto"
    cpu_threads: int = 0
    seed: int = 0
    save_every: int = 1000
    keep: int = 3
    log_every: int = 20
    image_every: int = 500
    resume: bool = False
    progress: bool = True
    tensorboard: bool = True     # losses and image grids under out_dir/tb
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    data: DataConfig = field(default_factory=DataConfig)
