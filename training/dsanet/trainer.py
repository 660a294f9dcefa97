"""The DSANet training loop: generator step and discriminator step side by side.

Example:
    from training.engine.config import resolve_config
    cfg = resolve_config(DSANetTrainConfig, "config/training/dsanet_synth-128x128.yaml")
    train(cfg)                       # or: torchrun --nproc_per_node 2 -m training train-dsanet ...

Run directory (cfg.out_dir): config.yaml (resolved), checkpoints/ (training.engine.checkpoint,
modules "encoder", "generator", "disc_b", "disc_r"), tb/ (TensorBoard), losses.jsonl.
"""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import Any

import torch
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader
from tqdm import tqdm

from training.dsanet.config import DSANetTrainConfig
from training.dsanet.data import PairCrops, StepBatchSampler
from training.dsanet.step import discriminator_losses, forward_dsanet
from training.engine import checkpoint as ckpt
from training.engine import distributed
from training.engine.config import config_to_dict, save_config
from training.engine.logging import RunLogger, trim_jsonl
from training.engine.resume import find_resume_point, load_weights
from training.losses.dsanet import generator_losses
from training.models import build_model

MODULE_NAMES = ("encoder", "generator", "disc_b", "disc_r")


def module_specs(cfg: DSANetTrainConfig) -> dict[str, ckpt.ModuleSpec]:
    """Kinds and constructor kwargs of the four networks (what the checkpoint records)."""
    m = cfg.model
    gen_kw = {"code_channels": m.code_channels, "base_channels": m.base_channels,
              "num_res_blocks": m.num_res_blocks, "norm": m.norm, "shortcut": m.shortcut,
              "downsample": m.downsample}
    disc_kw = {"base_channels": m.disc_channels, "num_layers": m.disc_layers}
    return {"encoder": ckpt.ModuleSpec("dsanet_encoder", gen_kw),
            "generator": ckpt.ModuleSpec("dsanet_generator", dict(gen_kw)),
            "disc_b": ckpt.ModuleSpec("patch_discriminator", disc_kw),
            "disc_r": ckpt.ModuleSpec("patch_discriminator", dict(disc_kw))}


def _check(cfg: DSANetTrainConfig) -> None:
    if cfg.mode == "ours" and cfg.batch_size < 2:
        raise ValueError("mode 'ours' crosses pairs inside a batch: batch_size must be >= 2")
    if len(cfg.data.crop) != 2 or any(c <= 0 or c % 4 for c in cfg.data.crop):
        raise ValueError(f"data.crop must be [H, W], positive multiples of 4; got {cfg.data.crop}")


def _build_pairs(cfg: DSANetTrainConfig) -> Any:
    from training.data import build_dataset

    if not cfg.data.root:
        raise ValueError("data.root is not set (e.g. data.root=/data/Rain100H)")
    return build_dataset(cfg.data.dataset, cfg.data.root, cfg.data.split)


def train(cfg: DSANetTrainConfig, pairs: Any | None = None) -> Path:
    """Train DSANet as cfg says; returns the last checkpoint's step directory.

    Args:
        pairs: a rain-pair dataset ({"rainy", "clean", "name"} samples); by default
            training.data.build_dataset(cfg.data.dataset, cfg.data.root, cfg.data.split).
    """
    _check(cfg)
    if cfg.cpu_threads > 0:
        torch.set_num_threads(cfg.cpu_threads)
    dist = distributed.setup(cfg.device)
    dev = dist.device
    distributed.seed_everything(cfg.seed)   # same init on every rank (DDP also broadcasts)
    out_dir = Path(cfg.out_dir)
    ckpt_root = out_dir / "checkpoints"
    use_amp = cfg.amp and dev.type == "cuda"
    shift = 1 if cfg.mode == "ours" else 0

    specs = module_specs(cfg)
    nets = {name: build_model(spec.kind, spec.config).to(dev) for name, spec in specs.items()}
    params_g = [*nets["encoder"].parameters(), *nets["generator"].parameters()]
    params_d = [*nets["disc_b"].parameters(), *nets["disc_r"].parameters()]
    opt_g = torch.optim.Adam(params_g, lr=cfg.lr_g, betas=(cfg.betas[0], cfg.betas[1]))
    opt_d = torch.optim.Adam(params_d, lr=cfg.lr_d, betas=(cfg.betas[0], cfg.betas[1]))
    scaler_g = torch.amp.GradScaler("cuda", enabled=use_amp)
    scaler_d = torch.amp.GradScaler("cuda", enabled=use_amp)

    start, elapsed = 0, 0.0   # steps done and their training seconds (carried across resumes)
    point = find_resume_point(ckpt_root, MODULE_NAMES) if cfg.resume else None
    last = point.step_dir if point is not None else None
    if point is not None:
        load_weights(nets, point)
        state = point.train_state
        opt_g.load_state_dict(state["opt_g"])
        opt_d.load_state_dict(state["opt_d"])
        scaler_g.load_state_dict(state["scaler_g"])
        scaler_d.load_state_dict(state["scaler_d"])
        start = int(state["step"])
        elapsed = float(state.get("elapsed_s", 0.0))   # absent in checkpoints before 2026-11-22
    elif (ckpt_root / "latest").exists() and not cfg.resume:
        raise FileExistsError(f"{out_dir} already holds a run; pass resume=true or a new out_dir")

    # DDP wrappers for the steps that train a network; the frozen-D pass of the generator
    # step goes through the plain modules so no gradient hook of D fires there.
    wrap = (lambda m: DDP(m, device_ids=[dev.index] if dev.type == "cuda" else None)) \
        if dist.enabled else (lambda m: m)
    enc, gen = wrap(nets["encoder"]), wrap(nets["generator"])
    disc_b, disc_r = wrap(nets["disc_b"]), wrap(nets["disc_r"])

    pairs = pairs if pairs is not None else _build_pairs(cfg)
    sampler = StepBatchSampler(len(pairs), cfg.batch_size, seed=cfg.seed, start_step=start,
                               steps=cfg.steps, rank=dist.rank, world_size=dist.world_size)
    loader = DataLoader(PairCrops(pairs, (cfg.data.crop[0], cfg.data.crop[1]), cfg.data.flip),
                        batch_sampler=sampler, num_workers=cfg.data.num_workers,
                        pin_memory=dev.type == "cuda", persistent_workers=False)

    logger = RunLogger(out_dir / "tb", enabled=dist.is_main)
    if dist.is_main:
        save_config(cfg, out_dir / "config.yaml")
        if start == 0:
            (out_dir / "losses.jsonl").unlink(missing_ok=True)
        trim_jsonl(out_dir / "losses.jsonl", start)   # drops steps past the resume point
    autocast = (lambda: torch.autocast("cuda", dtype=torch.float16)) if use_amp \
        else contextlib.nullcontext
    bar = tqdm(total=cfg.steps, initial=start, desc=f"dsanet[{cfg.mode}]", unit="step",
               disable=not (dist.is_main and cfg.progress), dynamic_ncols=True)
    sums: dict[str, float] = {}
    count = 0
    t0, step, step_dir = time.time() - elapsed, start, last   # time_s counts all runs of this dir
    for step, batch in enumerate(loader, start=start + 1):
        rainy = batch["rainy"].to(dev, non_blocking=True)    # (B, 3, H, W)
        clean = batch["clean"].to(dev, non_blocking=True)    # (B, 3, H, W)

        # ---- generator step: E and G against frozen D_B, D_R ---------------------------
        _set_requires_grad(params_d, False)
        with autocast():
            out = forward_dsanet(enc, gen, rainy, clean, shift, cfg.derain_code,
                                 transfer=cfg.loss.transfer > 0)
            g = generator_losses(out, rainy, clean, nets["disc_b"], nets["disc_r"], cfg=cfg.loss)
        opt_g.zero_grad(set_to_none=True)
        scaler_g.scale(g["total"]).backward()
        _clip_and_step(opt_g, scaler_g, params_g, cfg.grad_clip)

        # ---- discriminator step: D_B, D_R on real pairs vs the detached fakes -----------
        _set_requires_grad(params_d, True)
        with autocast():
            d = discriminator_losses(disc_b, disc_r, out, rainy, clean, gan=cfg.loss.gan)
        opt_d.zero_grad(set_to_none=True)
        scaler_d.scale(d["total"]).backward()
        _clip_and_step(opt_d, scaler_d, params_d, cfg.grad_clip)

        # ---- bookkeeping -----------------------------------------------------------------
        values = ({f"g/{k}": float(v.detach()) for k, v in g.items()}
                  | {f"d/{k}": float(v.detach()) for k, v in d.items()})
        for k, v in values.items():
            sums[k] = sums.get(k, 0.0) + v
        count += 1
        bar.update(1)
        bar.set_postfix(g=f"{values['g/total']:.3f}", bg=f"{values['g/bg']:.3f}",
                        rec=f"{values['g/rec']:.3f}", d=f"{values['d/total']:.3f}")
        if step % cfg.log_every == 0 or step == cfg.steps:
            means = {k: v / count for k, v in sums.items()}
            if dist.is_main:
                logger.scalars(means, step, prefix="loss/")
                with open(out_dir / "losses.jsonl", "a") as f:
                    f.write(json.dumps({"step": step, "time_s": round(time.time() - t0, 2)} | means) + "\n")
            sums, count = {}, 0
        if dist.is_main and (step % cfg.image_every == 0 or step == cfg.steps):
            logger.image_grid("samples/rainy-derained-swapped-cycled-clean", _sample_rows(out, rainy, clean),
                              step, nrow=min(4, rainy.shape[0]))
        if step % cfg.save_every == 0 or step == cfg.steps:
            train_state = {"step": step, "elapsed_s": time.time() - t0,
                           "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(),
                           "scaler_g": scaler_g.state_dict(), "scaler_d": scaler_d.state_dict()}
            step_dir = _save(cfg, ckpt_root, step, nets, state=train_state, is_main=dist.is_main)
    bar.close()
    logger.close()
    distributed.cleanup()
    if step_dir is None:
        raise RuntimeError(f"nothing trained: steps={cfg.steps}")
    return Path(step_dir)


def _set_requires_grad(params: list[torch.nn.Parameter], flag: bool) -> None:
    for p in params:
        p.requires_grad_(flag)


def _clip_and_step(opt: torch.optim.Optimizer, scaler: torch.amp.GradScaler,
                   params: list[torch.nn.Parameter], max_norm: float) -> None:
    if max_norm > 0:
        scaler.unscale_(opt)   # clip true gradients, not loss-scaled ones
        torch.nn.utils.clip_grad_norm_(params, max_norm)
    scaler.step(opt)
    scaler.update()


def _save(cfg: DSANetTrainConfig, ckpt_root: Path, step: int, nets: dict[str, torch.nn.Module],
          *, state: dict[str, Any], is_main: bool) -> Path:
    step_dir = ckpt_root / f"step_{step:08d}"   # what every rank returns
    specs = module_specs(cfg)
    if is_main:
        meta = {"task": "dsanet", "code_channels": cfg.model.code_channels, "mode": cfg.mode,
                "downsample": cfg.model.downsample, "no_rain_code": "zeros",
                "clean_rain_code": "zeros" if cfg.derain_code == "zero" else "own",
                "crop": list(cfg.data.crop), "dataset": cfg.data.dataset, "config": config_to_dict(cfg)}
        step_dir = ckpt.save_checkpoint(ckpt_root, step, {n: (specs[n], nets[n]) for n in MODULE_NAMES},
                                        state, keep=cfg.keep, extra_meta=meta)
    distributed.barrier()   # no rank runs ahead of a checkpoint it might be killed before
    return step_dir


def _sample_rows(out: dict[str, torch.Tensor], rainy: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
    """Rows rainy / derained / rain-swapped / reconstructed / clean, up to 4 columns."""
    k = min(4, rainy.shape[0])
    rows = [rainy, out["derained"], out["swapped"], out["cycled"], clean]
    return torch.cat([r[:k].detach().float().cpu() for r in rows])
