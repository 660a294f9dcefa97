"""What both restoration trainers share: the checks and the seeded step loader.

The loops themselves live in spade_trainer.py and restorer_trainer.py, each readable top to
bottom; resume, saving and the loss record are training.engine.loop's, shared with the other
GAN trainers.
"""

from __future__ import annotations

from torch.utils.data import DataLoader

from training.dsanet.data import StepBatchSampler
from training.engine import distributed
from training.engine.config import ConfigError
from training.restoration.config import CommonTrainConfig, GeneratorConfig
from training.restoration.data import MaskImageDataset
from training.restoration.incomplete import IncompleteConfig


def check_common(cfg: CommonTrainConfig, gen: GeneratorConfig) -> tuple[int, int]:
    """(H, W) of data.size after checking it fits the generator; one ConfigError otherwise."""
    if len(cfg.data.size) != 2:
        raise ConfigError(f"data.size must be [H, W], got {cfg.data.size}")
    step = 2 ** gen.num_up
    h, w = cfg.data.size
    if h <= 0 or w <= 0 or h % step or w % step:
        raise ConfigError(f"data.size={cfg.data.size}: H and W must be positive multiples of "
                          f"{step} (2^generator.num_up)")
    if cfg.steps < 1 or cfg.batch_size < 1:
        raise ConfigError("steps and batch_size must be >= 1")
    if not cfg.data.root:
        raise ConfigError("data.root is not set (a Cityscapes root or a generate-scenes OUT)")
    return h, w


def step_loader(cfg: CommonTrainConfig, dist: distributed.Dist, start: int,
                incomplete: IncompleteConfig | None = None,
                dataset: MaskImageDataset | None = None) -> DataLoader:
    """Batches of steps start+1..cfg.steps for this rank (training.dsanet.data.StepBatchSampler)."""
    size = (cfg.data.size[0], cfg.data.size[1])
    ds = dataset or MaskImageDataset(cfg.data.root, cfg.data.split, labels=cfg.labels, size=size,
                                     incomplete=incomplete, flip=cfg.data.flip)
    sampler = StepBatchSampler(len(ds), cfg.batch_size, seed=cfg.seed, start_step=start, steps=cfg.steps,
                               rank=dist.rank, world_size=dist.world_size)
    return DataLoader(ds, batch_sampler=sampler, num_workers=cfg.data.num_workers,
                      pin_memory=dist.device.type == "cuda")
