"""The segmenter training loop: poly LR, SGD/AdamW, weighted CE with ignore, AMP, DDP,
atomic checkpoints with resume, TensorBoard, validation mIoU.

Read top to bottom in `train()`. One step: load a batch of [0, 1] images, optionally
rainify part of it with a frozen DSANet (or a trainable one in End-to-End mode), normalise,
forward, cross entropy, backward, step the segmenter (and DSANet in End-to-End mode).

Example:
    cfg = resolve_config(TrainSegmenterConfig, "config/training/erf-pspnet_clean_synth-128x256.yaml")
    step_dir = train(cfg)
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import torch
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, DistributedSampler
from tqdm import tqdm

from training.engine import checkpoint as ckpt
from training.engine import distributed, loop
from training.engine.config import config_to_dict, save_config
from training.engine.logging import RunLogger, append_jsonl, trim_jsonl
from training.engine.resume import find_resume_point, load_weights
from training.models import build_model, init_from_errors
from training.segmenter.config import TrainSegmenterConfig
from training.segmenter.data import build_train_set, build_val_set
from training.segmenter.evaluation import evaluate_segmenter, normalise
from training.segmenter.optim import build_optimizer, poly_factor, set_lr

log = logging.getLogger(__name__)


def model_spec(cfg: TrainSegmenterConfig) -> ckpt.ModuleSpec:
    """Kind + kwargs recorded in the checkpoint. `init_from` is left out: the weights it
    gave are in the checkpoint, and the file need not exist where the checkpoint is used."""
    kwargs = {k: v for k, v in cfg.model.kwargs.items() if k != "init_from"}
    return ckpt.ModuleSpec(cfg.model.kind, {**kwargs, "num_classes": cfg.num_classes})


def checkpoint_meta(cfg: TrainSegmenterConfig) -> dict[str, Any]:
    """The segmenter checkpoint's extra_meta (COMMON contract), read by evaluate and export."""
    from rain_seg_ros.labels import IMAGENET_MEAN, IMAGENET_STD

    size = cfg.val_size or cfg.augment.crop_size
    return {"task": "segmentation", "num_classes": cfg.num_classes, "class_names": list(cfg.class_names),
            "ignore_index": cfg.ignore_index, "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD),
            "input_size": list(size)}


def _check(cfg: TrainSegmenterConfig) -> None:
    if len(cfg.class_names) != cfg.num_classes:
        raise ValueError(f"class_names has {len(cfg.class_names)} names for num_classes={cfg.num_classes}")
    if cfg.class_weights is not None and len(cfg.class_weights) != cfg.num_classes:
        raise ValueError(f"class_weights has {len(cfg.class_weights)} values for {cfg.num_classes} classes")
    if cfg.end_to_end.enabled and not cfg.rainify.dsanet:
        raise ValueError("end_to_end.enabled needs rainify.dsanet (the DSANet to train jointly)")
    if cfg.steps < 1 or cfg.batch_size < 1:
        raise ValueError("steps and batch_size must be >= 1")


def train(cfg: TrainSegmenterConfig) -> Path:
    """Train (or resume) a segmenter; returns the last checkpoint's step directory."""
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
    if d.device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed crop size: let cuDNN pick the fastest kernels

    # Networks, optimiser, optional DSANet (on-the-fly rainify / End-to-End).
    spec = model_spec(cfg)
    model = _build_segmenter(cfg).to(d.device)
    if cfg.init_checkpoint:
        _init_from_checkpoint(model, spec, cfg.init_checkpoint)
    rainifier = None
    if cfg.rainify.dsanet:
        from training.segmenter.rainify_online import OnlineRainifier

        rainifier = OnlineRainifier.from_config(cfg.rainify, cfg.end_to_end, d.device)
    optimizer = build_optimizer(cfg, model)
    dsanet_opt = None
    if rainifier is not None and cfg.end_to_end.enabled:
        dsanet_opt = rainifier.build_optimizer(cfg.end_to_end.lr)
    scaler = torch.amp.GradScaler("cuda", enabled=amp)

    start_step, epoch = 0, 0
    point = find_resume_point(ckpt_root, ("model",)) if cfg.resume else None
    resume_dir = point.step_dir if point is not None else None
    if point is not None:
        load_weights({"model": model}, point)
        states, state = point.state_dicts, point.train_state
        optimizer.load_state_dict(state["optimizer"])
        scaler.load_state_dict(state["scaler"])
        if rainifier is not None:
            rainifier.load_state(states, state)
            if dsanet_opt is not None:
                dsanet_opt.load_state_dict(state["dsanet_optimizer"])
        start_step, epoch = int(state["step"]), int(state["epoch"])
        log.info("resumed from %s at step %d", resume_dir, start_step)
        if d.is_main:
            trim_jsonl(out / "metrics.jsonl", start_step)

    if d.enabled:
        if d.device.type == "cuda":
            model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
        model = DDP(model, device_ids=[d.device.index] if d.device.type == "cuda" else None)
        if rainifier is not None and dsanet_opt is not None:
            rainifier.wrap_ddp(d.device)
    criterion = torch.nn.CrossEntropyLoss(
        weight=torch.tensor(cfg.class_weights, device=d.device) if cfg.class_weights else None,
        ignore_index=cfg.ignore_index)

    # Data: the training mix (every rank its own shard) and the validation set.
    train_set = build_train_set(cfg)
    sampler: DistributedSampler = DistributedSampler(
        train_set, num_replicas=d.world_size, rank=d.rank, shuffle=True, seed=cfg.seed, drop_last=True)
    if len(sampler) < cfg.batch_size:
        raise ValueError(f"training mix has {len(train_set)} samples, fewer than one batch of "
                         f"{cfg.batch_size} per process x {d.world_size} processes")
    loader = DataLoader(train_set, batch_size=cfg.batch_size, sampler=sampler, drop_last=True,
                        num_workers=cfg.num_workers, pin_memory=d.device.type == "cuda",
                        persistent_workers=cfg.num_workers > 0)
    val_set = build_val_set(cfg)
    logger = RunLogger(out / "tensorboard", enabled=d.is_main and cfg.tensorboard)

    batch_iter = loop.EndlessBatches(loader, sampler, epoch)
    model.train()
    bar = tqdm(range(start_step, cfg.steps), initial=start_step, total=cfg.steps, desc="train-segmenter",
               disable=not d.is_main, dynamic_ncols=True)
    last_dir = resume_dir
    t0 = window_t = time.perf_counter()
    window_step = start_step
    for step in bar:
        factor = poly_factor(step, cfg.steps, cfg.poly_power, cfg.warmup_steps)
        set_lr(optimizer, factor)
        batch = next(batch_iter)
        images = batch["image"].to(d.device, non_blocking=True)  # (B, 3, H, W) in [0, 1]
        masks = batch["mask"].to(d.device, non_blocking=True)    # (B, H, W) train ids

        with torch.autocast(d.device.type, dtype=torch.float16, enabled=amp):
            if rainifier is not None:
                # Frozen DSANet: no graph. End-to-End: the graph reaches DSANet's weights.
                images = rainifier(images, train=dsanet_opt is not None)
            logits = model(normalise(images))  # (B, K, H, W)
        loss = criterion(logits.float(), masks)

        optimizer.zero_grad(set_to_none=True)
        if dsanet_opt is not None:
            dsanet_opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        if dsanet_opt is not None:
            scaler.step(dsanet_opt)
        scaler.update()

        done = step + 1
        if done % cfg.log_every == 0 or done == cfg.steps:
            loss_value = float(distributed.all_reduce_sum(loss.detach().clone())) / d.world_size
            lr = optimizer.param_groups[0]["lr"]
            now = time.perf_counter()
            its = (done - start_step) / (now - t0)
            # Seconds per iteration since the last log line, validation time excluded.
            sec_per_it = (now - window_t) / max(done - window_step, 1)
            window_t, window_step = now, done
            bar.set_postfix(loss=f"{loss_value:.3f}", lr=f"{lr:.2e}", it_s=f"{its:.2f}")
            logger.scalars({"loss": loss_value, "lr": lr, "it_per_s": its}, done, prefix="train/")
            append_jsonl(out / "metrics.jsonl", {"step": done, "loss": loss_value, "lr": lr,
                                                 "sec_per_it": round(sec_per_it, 4)}, enabled=d.is_main)
        if val_set is not None and (done % cfg.val_every == 0 or done == cfg.steps):
            scores = evaluate_segmenter(_unwrap(model), val_set, num_classes=cfg.num_classes,
                                        class_names=cfg.class_names, ignore_index=cfg.ignore_index,
                                        device=d.device, input_size=cfg.val_size, rank=d.rank,
                                        world_size=d.world_size, desc="validate")
            summary = {k: scores[k] for k in ("mIoU", "mAcc", "aAcc")}
            logger.scalars(summary, done, prefix="val/")
            logger.image_grid("train/inputs", images[:4].detach().float(), done)
            append_jsonl(out / "metrics.jsonl", {"step": done, "val": summary}, enabled=d.is_main)
            if d.is_main:
                bar.write(f"step {done}: val mIoU {scores['mIoU']:.2f}  mAcc {scores['mAcc']:.2f}  "
                          f"aAcc {scores['aAcc']:.2f}")
            window_t = time.perf_counter()
        if done % cfg.ckpt_every == 0 or done == cfg.steps:
            if d.is_main:
                modules = {"model": (spec, model)}
                if rainifier is not None and dsanet_opt is not None:
                    modules.update(rainifier.checkpoint_modules())
                state = {"step": done, "epoch": batch_iter.epoch, "optimizer": optimizer.state_dict(),
                         "scaler": scaler.state_dict(), "config": config_to_dict(cfg)}
                if dsanet_opt is not None:
                    state["dsanet_optimizer"] = dsanet_opt.state_dict()
                ckpt.save_checkpoint(ckpt_root, done, modules, state, keep=cfg.keep,
                                     extra_meta=checkpoint_meta(cfg))
            last_dir = ckpt_root / f"step_{done:08d}"
            distributed.barrier()
    logger.close()
    distributed.cleanup()
    return Path(last_dir) if last_dir is not None else ckpt_root


def _build_segmenter(cfg: TrainSegmenterConfig) -> torch.nn.Module:
    """The configured segmenter; a pretrained file (`model.kwargs.init_from`) that is missing
    or unreadable is one error naming the parameter and the file, not a loader traceback."""
    with init_from_errors(cfg.model.kwargs.get("init_from")):
        return build_model(cfg.model.kind, {**cfg.model.kwargs, "num_classes": cfg.num_classes})


def _init_from_checkpoint(model: torch.nn.Module, spec: ckpt.ModuleSpec, path: str) -> None:
    """Fine-tuning start: the "model" weights of a segmenter checkpoint of the same architecture."""
    specs, meta, step = ckpt.read_metadata(path)
    task = meta.get("task")
    if task != "segmentation":
        what = "a DSANet checkpoint" if task == "dsanet" else f"not a segmenter checkpoint (task={task!r})"
        raise ckpt.CheckpointError(f"init_checkpoint={path} is {what} where a segmenter is expected")
    if "model" not in specs or specs["model"].kind != spec.kind or specs["model"].config != spec.config:
        found = specs.get("model")
        raise ValueError(f"init_checkpoint {path}: its model ({found}) is not this run's ({spec})")
    model.load_state_dict(ckpt.load_state_dicts(path)["model"])
    log.info("initialised from %s (step %d)", path, step)


def _unwrap(model: torch.nn.Module) -> torch.nn.Module:
    return model.module if isinstance(model, DDP) else model
