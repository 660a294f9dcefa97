"""The train-dsanet config schema: every default lives here, YAML files hold overrides.

Example:
    from training.engine.config import resolve_config
    cfg = resolve_config(DSANetTrainConfig, "config/training/dsanet_synth-128x128.yaml", ["steps=50"])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from training.losses.dsanet import LossConfig


@dataclass
class ModelConfig:
    """Network sizes (the thesis gives none; these defaults are ours)."""

    code_channels: int = 64      # C: C/2 background + C/2 rain channels
    base_channels: int = 32      # E/G width at full resolution (4x at 1/4 resolution)
    num_res_blocks: int = 3      # residual blocks in E and in G
    shortcut: bool = True        # linear space-to-depth path E -> code -> G (models/dsanet.py)
    downsample: int = 4          # code stride: 4 (1/4 resolution) or 2 (sharper, 4x the trunk cost)
    norm: Literal["none", "instance"] = "instance"   # normalisation inside E and G
    # G's 2x stages and its shortcut path (models/dsanet.py); the defaults are the layout of
    # checkpoints written before these options existed.
    upsample: Literal["nearest", "bilinear", "pixelshuffle"] = "nearest"
    shortcut_upsample: Literal["shuffle", "bilinear", "features"] = "shuffle"
    disc_channels: int = 64      # PatchGAN first-layer width (D_B and D_R)
    disc_layers: int = 3         # PatchGAN stride-2 layers (3 = the 70x70 PatchGAN)


@dataclass
class DataConfig:
    """Rain/clean pairs from training.data.build_dataset(dataset, root, split)."""

    dataset: str = "rain100h"
    root: str = ""
    split: str = "train"
    crop: list[int] = field(default_factory=lambda: [128, 128])  # [H, W], multiples of 4
    flip: bool = True            # random horizontal flip, applied to both images of a pair
    num_workers: int = 2


@dataclass
class DSANetTrainConfig:
    mode: Literal["ours", "input1"] = "ours"   # input1: the ablation without rain exchange
    derain_code: Literal["twin", "zero"] = "twin"   # rain code of the derain branch (step.py)
    out_dir: str = "runs/dsanet"
    steps: int = 20000
    batch_size: int = 4          # pairs per process per step ("ours" needs >= 2)
    lr_g: float = 2e-4           # Adam lr of E and G
    lr_d: float = 2e-4           # Adam lr of D_B and D_R
    # constant, or cosine from lr_g / lr_d at step 1 to 0 after the last step: a short run at a
    # high lr otherwise stops wherever its last noisy steps left it (docs/dsanet.md, issue 16).
    lr_schedule: Literal["constant", "cosine"] = "constant"
    # What rainify returns with this model (checkpoint metadata; training.dsanet.api): G's redraw
    # of the whole image, or the input plus only the rain code's change (docs/dsanet.md).
    rainify_output: Literal["decoded", "residual"] = "decoded"
    betas: list[float] = field(default_factory=lambda: [0.5, 0.999])
    grad_clip: float = 10.0      # max grad norm per optimiser; 0 disables
    amp: bool = True             # float16 autocast + GradScaler, CUDA only (ignored on CPU)
    device: str = "auto"
    cpu_threads: int = 0         # torch intra-op threads; 0 keeps torch's default (1 helps on busy CPUs)
    seed: int = 0
    save_every: int = 1000       # checkpoint interval in steps (a kill loses at most this)
    keep: int = 3                # checkpoints kept
    log_every: int = 20          # scalar logging interval
    image_every: int = 500       # image-grid logging interval
    resume: bool = False         # continue from out_dir/checkpoints/latest
    progress: bool = True        # tqdm bar on the main process
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    data: DataConfig = field(default_factory=DataConfig)
