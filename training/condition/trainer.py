"""The condition-estimator training loop: AdamW + cosine LR, masked BCE on the rain and night
heads, masked MSE on rain intensity, AMP on CUDA, DDP, atomic checkpoints with resume,
TensorBoard, validation accuracy.

Read top to bottom in `train()`. One step: a batch of [0, 1] images and [rain, night,
intensity] targets (-1 = the source does not say), normalise, forward to logits, the three
masked losses, backward, step.

Example:
    cfg = resolve_config(TrainConditionConfig, "config/training/condition-net_synth-128x256.yaml")
    step_dir = train(cfg)
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, DistributedSampler
from tqdm import tqdm

from rain_seg_ros.condition import CONDITION_NAMES, OUTPUT_COLUMNS
from rain_seg_ros.labels import IMAGENET_MEAN, IMAGENET_STD
from training.condition.config import TrainConditionConfig
from training.condition.data import build_condition_set
from training.condition.evaluation import evaluate_condition
from training.engine import checkpoint as ckpt
from training.engine import distributed, loop
from training.engine.config import config_to_dict, save_config
from training.engine.logging import RunLogger, trim_jsonl
from training.engine.resume import find_resume_point, load_weights
from training.models import build_model
from training.segmenter.evaluation import normalise

log = logging.getLogger(__name__)


def model_spec(cfg: TrainConditionConfig) -> ckpt.ModuleSpec:
    return ckpt.ModuleSpec("condition_net", {"width": cfg.model.width, "stages": cfg.model.stages,
                                             "dropout": cfg.model.dropout})


def checkpoint_meta(cfg: TrainConditionConfig) -> dict[str, Any]:
    """The condition checkpoint's extra_meta, read by evaluate-condition and export."""
    return {"task": "condition", "class_names": list(CONDITION_NAMES), "output_columns": list(OUTPUT_COLUMNS),
            "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD), "input_size": list(cfg.input_size)}


def condition_loss(logits: torch.Tensor, target: torch.Tensor, intensity_weight: float) -> torch.Tensor:
    """Masked losses: BCE for each known rain / night fact, MSE for each known intensity.

    Args:
        logits: (B, 3) raw network outputs.
        target: (B, 3) [rain, night, intensity], -1 where unknown.
    """
    known = target >= 0                                                    # (B, 3)
    bce = F.binary_cross_entropy_with_logits(logits[:, :2], target[:, :2].clamp(min=0), reduction="none")
    mse = (torch.sigmoid(logits[:, 2]) - target[:, 2].clamp(min=0)) ** 2   # (B,)
    loss = logits.new_zeros(())
    for value, mask, weight in ((bce[:, 0], known[:, 0], 1.0), (bce[:, 1], known[:, 1], 1.0),
                                (mse, known[:, 2], intensity_weight)):
        # mean over the known entries; a batch where nobody knows this fact adds 0 (and no NaN)
        loss = loss + weight * (value * mask).sum() / mask.sum().clamp(min=1)
    return loss


def _check(cfg: TrainConditionConfig) -> None:
    if cfg.steps < 1 or cfg.batch_size < 1:
        raise ValueError("steps and batch_size must be >= 1")
    if len(cfg.input_size) != 2 or min(cfg.input_size) < 16:
        raise ValueError(f"input_size must be [H, W] with both >= 16, got {cfg.input_size}")
    lo, hi = cfg.augment.crop_scale
    if not 0 < lo <= hi <= 1:
        raise ValueError(f"augment.crop_scale must be [lo, hi] with 0 < lo <= hi <= 1, "
                         f"got {cfg.augment.crop_scale}")


def train(cfg: TrainConditionConfig) -> Path:
    """Train (or resume) a condition estimator; returns the last checkpoint's step directory."""
    _check(cfg)
    d = distributed.setup(cfg.device)
    if cfg.cpu_threads > 0:
        torch.set_num_threads(cfg.cpu_threads)
    distributed.seed_everything(cfg.seed, d.rank)
    out = Path(cfg.out)
    ckpt_root = out / "checkpoints"
    if d.is_main:
        save_config(cfg, out / "config.yaml")
    amp = cfg.amp and d.device.type == "cuda"

    # Data first: a bad dataset is reported before any network is built.
    train_set = build_condition_set(cfg.train, cfg.input_size, cfg.augment, seed=cfg.seed)
    val_set = build_condition_set(cfg.val, cfg.input_size) if cfg.val else None
    sampler: DistributedSampler = DistributedSampler(
        train_set, num_replicas=d.world_size, rank=d.rank, shuffle=True, seed=cfg.seed, drop_last=True)
    if len(sampler) < cfg.batch_size:
        raise ValueError(f"training mix has {len(train_set)} images, fewer than one batch of "
                         f"{cfg.batch_size} per process x {d.world_size} processes")
    loader = DataLoader(train_set, batch_size=cfg.batch_size, sampler=sampler, drop_last=True,
                        num_workers=cfg.num_workers, pin_memory=d.device.type == "cuda",
                        persistent_workers=cfg.num_workers > 0)

    # Network, optimiser, resume.
    spec = model_spec(cfg)
    model = build_model(spec.kind, spec.config).to(d.device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    scaler = torch.amp.GradScaler("cuda", enabled=amp)
    start_step, epoch = 0, 0
    point = find_resume_point(ckpt_root, ("model",)) if cfg.resume else None
    last_dir = point.step_dir if point is not None else None
    if point is not None:
        load_weights({"model": model}, point)
        optimizer.load_state_dict(point.train_state["optimizer"])
        scaler.load_state_dict(point.train_state["scaler"])
        start_step, epoch = int(point.train_state["step"]), int(point.train_state["epoch"])
        log.info("resumed from %s at step %d", last_dir, start_step)
        if d.is_main:
            trim_jsonl(out / "metrics.jsonl", start_step)
    if d.enabled:
        if d.device.type == "cuda":
            model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
        model = DDP(model, device_ids=[d.device.index] if d.device.type == "cuda" else None)
    logger = RunLogger(out / "tensorboard", enabled=d.is_main and cfg.tensorboard)

    batch_iter = loop.EndlessBatches(loader, sampler, epoch)
    model.train()
    bar = tqdm(range(start_step, cfg.steps), initial=start_step, total=cfg.steps, desc="train-condition",
               disable=not d.is_main, dynamic_ncols=True)
    for step in bar:
        lr = cfg.lr * 0.5 * (1 + math.cos(math.pi * step / cfg.steps))   # cosine to 0
        for group in optimizer.param_groups:
            group["lr"] = lr
        batch = next(batch_iter)
        images = batch["image"].to(d.device, non_blocking=True)   # (B, 3, H, W) in [0, 1]
        target = batch["target"].to(d.device, non_blocking=True)  # (B, 3), -1 = unknown
        with torch.autocast(d.device.type, dtype=torch.float16, enabled=amp):
            logits = model(normalise(images), raw=True)            # (B, 3)
        loss = condition_loss(logits.float(), target, cfg.intensity_weight)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()

        done = step + 1
        if done % cfg.log_every == 0 or done == cfg.steps:
            loss_value = float(distributed.all_reduce_sum(loss.detach().clone())) / d.world_size
            bar.set_postfix(loss=f"{loss_value:.3f}", lr=f"{lr:.2e}")
            logger.scalars({"loss": loss_value, "lr": lr}, done, prefix="train/")
            _append_log(out, d.is_main, {"step": done, "loss": loss_value, "lr": lr})
        if val_set is not None and d.is_main and (done % cfg.val_every == 0 or done == cfg.steps):
            scores = evaluate_condition(_unwrap(model), val_set, device=d.device, batch_size=cfg.batch_size)
            summary = {k: scores[k] for k in ("accuracy", "rain_accuracy", "night_accuracy", "intensity_mae")
                       if scores[k] is not None}
            logger.scalars(summary, done, prefix="val/")
            _append_log(out, True, {"step": done, "val": summary})
            bar.write(f"step {done}: val " + "  ".join(f"{k} {v:.3f}" for k, v in summary.items()))
        if done % cfg.ckpt_every == 0 or done == cfg.steps:
            if d.is_main:
                state = {"step": done, "epoch": batch_iter.epoch, "optimizer": optimizer.state_dict(),
                         "scaler": scaler.state_dict(), "config": config_to_dict(cfg)}
                ckpt.save_checkpoint(ckpt_root, done, {"model": (spec, model)}, state, keep=cfg.keep,
                                     extra_meta=checkpoint_meta(cfg))
            last_dir = ckpt_root / f"step_{done:08d}"
            distributed.barrier()
    logger.close()
    distributed.cleanup()
    return Path(last_dir) if last_dir is not None else ckpt_root


def _unwrap(model: torch.nn.Module) -> torch.nn.Module:
    return model.module if isinstance(model, DDP) else model


def _append_log(out: Path, enabled: bool, record: dict[str, Any]) -> None:
    if enabled:
        with open(out / "metrics.jsonl", "a") as f:
            f.write(json.dumps(record) + "\n")
