"""What both restoration trainers share: checks, the seeded step loader, resume and saving.

The loops themselves live in spade_trainer.py and restorer_trainer.py, each readable top to
bottom; this file holds the plumbing they would otherwise repeat.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

from training.dsanet.data import StepBatchSampler
from training.engine import checkpoint as ckpt
from training.engine import distributed
from training.engine.config import ConfigError
from training.engine.resume import ResumePoint, find_resume_point, load_weights
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


def resume(cfg: CommonTrainConfig, nets: dict[str, torch.nn.Module],
           load_state: Callable[[dict[str, Any]], None]) -> tuple[int, float, ResumePoint | None]:
    """(steps done, training seconds so far, the point) from out_dir/checkpoints when
    cfg.resume; a fresh run refuses a directory that already holds one."""
    root = Path(cfg.out_dir) / "checkpoints"
    point = find_resume_point(root, tuple(nets)) if cfg.resume else None
    if point is None:
        if (root / "latest").exists():
            raise FileExistsError(f"{cfg.out_dir} already holds a run; pass resume=true or a new out_dir")
        return 0, 0.0, None
    load_weights(nets, point)
    load_state(point.train_state)
    return int(point.train_state["step"]), float(point.train_state.get("elapsed_s", 0.0)), point


def save(cfg: CommonTrainConfig, step: int, modules: dict[str, tuple[ckpt.ModuleSpec, torch.nn.Module]],
         state: dict[str, Any], meta: dict[str, Any], is_main: bool) -> Path:
    """Atomic checkpoint (training.engine.checkpoint) on the main rank; every rank waits."""
    ckpt_root = Path(cfg.out_dir) / "checkpoints"
    step_dir = ckpt_root / f"step_{step:08d}"
    if is_main:
        step_dir = ckpt.save_checkpoint(ckpt_root, step, modules, state, keep=cfg.keep, extra_meta=meta)
    distributed.barrier()
    return step_dir


def autocast_for(use_amp: bool) -> Callable[[], Any]:
    return (lambda: torch.autocast("cuda", dtype=torch.float16)) if use_amp else contextlib.nullcontext


class LossLog:
    """Running means of the step losses, written to TensorBoard and losses.jsonl every log_every."""

    def __init__(self, out_dir: Path, t0: float) -> None:
        self.path, self.t0 = out_dir / "losses.jsonl", t0
        self.sums: dict[str, float] = {}
        self.count = 0

    def add(self, values: dict[str, float]) -> None:
        for k, v in values.items():
            self.sums[k] = self.sums.get(k, 0.0) + v
        self.count += 1

    def flush(self, step: int, logger: Any, is_main: bool) -> None:
        if not self.count:
            return
        means = {k: v / self.count for k, v in self.sums.items()}
        if is_main:
            logger.scalars(means, step, prefix="loss/")
            with open(self.path, "a") as f:
                f.write(json.dumps({"step": step, "time_s": round(time.time() - self.t0, 2)} | means) + "\n")
        self.sums, self.count = {}, 0


def set_requires_grad(params: list[torch.nn.Parameter], flag: bool) -> None:
    for p in params:
        p.requires_grad_(flag)
