"""The DSANet training loop: generator step and discriminator step side by side.

Example:
    from training.engine.config import resolve_config
    cfg = resolve_config(DSANetTrainConfig, "config/training/dsanet_synth-128x128.yaml")
    train(cfg)                       # or: torchrun --nproc_per_node 2 -m training train-dsanet ...

Run directory (cfg.out_dir): config.yaml (resolved), checkpoints/ (training.engine.checkpoint,
modules "encoder", "generator", "disc_b", "disc_r", and "disc_l" with loss.adv_layer > 0),
tb/ (TensorBoard), losses.jsonl.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

from training.dsanet.config import DSANetTrainConfig
from training.dsanet.data import PairCrops, StepBatchSampler
from training.dsanet.step import discriminator_losses, forward_dsanet
from training.engine import checkpoint as ckpt
from training.engine import loop
from training.engine.config import check_crop, config_to_dict
from training.engine.logging import RunLogger
from training.losses.dsanet import generator_losses
from training.models import build_model


def module_specs(cfg: DSANetTrainConfig) -> dict[str, ckpt.ModuleSpec]:
    """Kinds and constructor kwargs of the four networks (what the checkpoint records)."""
    m = cfg.model
    gen_kw = {"code_channels": m.code_channels, "base_channels": m.base_channels,
              "num_res_blocks": m.num_res_blocks, "norm": m.norm, "shortcut": m.shortcut,
              "downsample": m.downsample}
    disc_kw = {"base_channels": m.disc_channels, "num_layers": m.disc_layers}
    # checkpoints written before these G options existed lack them: the defaults rebuild those
    g_only = {"upsample": m.upsample, "shortcut_upsample": m.shortcut_upsample}
    specs = {"encoder": ckpt.ModuleSpec("dsanet_encoder", gen_kw),
             "generator": ckpt.ModuleSpec("dsanet_generator", gen_kw | g_only),
             "disc_b": ckpt.ModuleSpec("patch_discriminator", disc_kw),
             "disc_r": ckpt.ModuleSpec("patch_discriminator", dict(disc_kw))}
    if cfg.loss.adv_layer > 0:   # the rain-layer discriminator D_L (training.losses.dsanet)
        specs["disc_l"] = ckpt.ModuleSpec("patch_discriminator", dict(disc_kw))
    return specs


def _check(cfg: DSANetTrainConfig) -> None:
    if cfg.mode == "ours" and cfg.batch_size < 2:
        raise ValueError("mode 'ours' crosses pairs inside a batch: batch_size must be >= 2")
    check_crop(cfg.data.crop, 4)


def lr_factor(schedule: str, step: int, steps: int) -> float:
    """Multiplier of lr_g and lr_d at 1-based step; computed from the step alone, so a resumed
    run continues the same curve."""
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * (step - 1) / steps))
    return 1.0


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
    dist = loop.start_process(cfg.device, cfg.cpu_threads, cfg.seed)
    dev = dist.device
    out_dir = Path(cfg.out_dir)
    ckpt_root = out_dir / "checkpoints"
    use_amp = cfg.amp and dev.type == "cuda"
    shift = 1 if cfg.mode == "ours" else 0

    specs = module_specs(cfg)
    nets = {name: build_model(spec.kind, spec.config).to(dev) for name, spec in specs.items()}
    params_g = [*nets["encoder"].parameters(), *nets["generator"].parameters()]
    d_names = [n for n in nets if n.startswith("disc_")]
    params_d = [p for n in d_names for p in nets[n].parameters()]
    opt_g = torch.optim.Adam(params_g, lr=cfg.lr_g, betas=(cfg.betas[0], cfg.betas[1]))
    opt_d = torch.optim.Adam(params_d, lr=cfg.lr_d, betas=(cfg.betas[0], cfg.betas[1]))
    scaler_g = torch.amp.GradScaler("cuda", enabled=use_amp)
    scaler_d = torch.amp.GradScaler("cuda", enabled=use_amp)

    optim = {"opt_g": opt_g, "opt_d": opt_d, "scaler_g": scaler_g, "scaler_d": scaler_d}
    # steps done and their training seconds (carried across resumes)
    start, elapsed, point = loop.resume_run(out_dir, cfg.resume, nets,
                                            lambda state: loop.load_optim_states(state, optim))

    # DDP wrappers for the steps that train a network; the frozen-D pass of the generator
    # step goes through the plain modules so no gradient hook of D fires there.
    enc, gen = loop.wrap_ddp(nets["encoder"], dist), loop.wrap_ddp(nets["generator"], dist)
    disc_b, disc_r = loop.wrap_ddp(nets["disc_b"], dist), loop.wrap_ddp(nets["disc_r"], dist)
    disc_l = loop.wrap_ddp(nets["disc_l"], dist) if "disc_l" in nets else None

    pairs = pairs if pairs is not None else _build_pairs(cfg)
    sampler = StepBatchSampler(len(pairs), cfg.batch_size, seed=cfg.seed, start_step=start,
                               steps=cfg.steps, rank=dist.rank, world_size=dist.world_size)
    loader = DataLoader(PairCrops(pairs, (cfg.data.crop[0], cfg.data.crop[1]), cfg.data.flip),
                        batch_sampler=sampler, num_workers=cfg.data.num_workers,
                        pin_memory=dev.type == "cuda", persistent_workers=False)

    logger = RunLogger(out_dir / "tb", enabled=dist.is_main)
    loop.start_run_files(cfg, out_dir, start, dist.is_main)
    autocast = loop.autocast_for(use_amp)
    bar = loop.progress_bar(cfg.steps, start, f"dsanet[{cfg.mode}]", dist.is_main and cfg.progress)
    t0 = time.time() - elapsed   # time_s counts all runs of this dir
    losses = loop.LossLog(out_dir, t0)
    step_dir = point.step_dir if point is not None else None
    for step, batch in enumerate(loader, start=start + 1):
        rainy = batch["rainy"].to(dev, non_blocking=True)    # (B, 3, H, W)
        clean = batch["clean"].to(dev, non_blocking=True)    # (B, 3, H, W)
        factor = lr_factor(cfg.lr_schedule, step, cfg.steps)
        for opt, base in ((opt_g, cfg.lr_g), (opt_d, cfg.lr_d)):
            for group in opt.param_groups:
                group["lr"] = base * factor

        # ---- generator step: E and G against frozen D_B, D_R ---------------------------
        loop.set_requires_grad(params_d, False)
        with autocast():
            out = forward_dsanet(enc, gen, rainy, clean, shift, cfg.derain_code,
                                 transfer=cfg.loss.transfer > 0 or cfg.loss.layer > 0,
                                 cross=disc_l is not None or cfg.loss.cross > 0 or cfg.loss.texture > 0)
            g = generator_losses(out, rainy, clean, nets["disc_b"], nets["disc_r"], cfg=cfg.loss,
                                 disc_l=nets.get("disc_l"), residual=cfg.rainify_output == "residual")
        opt_g.zero_grad(set_to_none=True)
        scaler_g.scale(g["total"]).backward()
        _clip_and_step(opt_g, scaler_g, params_g, cfg.grad_clip)

        # ---- discriminator step: D_B, D_R on real pairs vs the detached fakes -----------
        loop.set_requires_grad(params_d, True)
        with autocast():
            d = discriminator_losses(disc_b, disc_r, out, rainy, clean, gan=cfg.loss.gan, disc_l=disc_l)
        opt_d.zero_grad(set_to_none=True)
        scaler_d.scale(d["total"]).backward()
        _clip_and_step(opt_d, scaler_d, params_d, cfg.grad_clip)

        # ---- bookkeeping -----------------------------------------------------------------
        values = ({f"g/{k}": float(v.detach()) for k, v in g.items()}
                  | {f"d/{k}": float(v.detach()) for k, v in d.items()})
        losses.add(values)
        bar.update(1)
        bar.set_postfix(g=f"{values['g/total']:.3f}", bg=f"{values['g/bg']:.3f}",
                        rec=f"{values['g/rec']:.3f}", d=f"{values['d/total']:.3f}")
        if step % cfg.log_every == 0 or step == cfg.steps:
            losses.flush(step, logger, dist.is_main)
        if dist.is_main and (step % cfg.image_every == 0 or step == cfg.steps):
            logger.image_grid("samples/rainy-derained-swapped-cycled-clean", _sample_rows(out, rainy, clean),
                              step, nrow=min(4, rainy.shape[0]))
        if step % cfg.save_every == 0 or step == cfg.steps:
            train_state = {"step": step, "elapsed_s": time.time() - t0, **loop.optim_states(optim)}
            step_dir = _save(cfg, ckpt_root, step, nets, state=train_state, is_main=dist.is_main)
    return loop.finish_run(bar, logger, step_dir, cfg.steps)


def _clip_and_step(opt: torch.optim.Optimizer, scaler: torch.amp.GradScaler,
                   params: list[torch.nn.Parameter], max_norm: float) -> None:
    if max_norm > 0:
        scaler.unscale_(opt)   # clip true gradients, not loss-scaled ones
        torch.nn.utils.clip_grad_norm_(params, max_norm)
    scaler.step(opt)
    scaler.update()


def _save(cfg: DSANetTrainConfig, ckpt_root: Path, step: int, nets: dict[str, torch.nn.Module],
          *, state: dict[str, Any], is_main: bool) -> Path:
    specs = module_specs(cfg)
    meta = {"task": "dsanet", "code_channels": cfg.model.code_channels, "mode": cfg.mode,
            "downsample": cfg.model.downsample, "no_rain_code": "zeros",
            "clean_rain_code": "zeros" if cfg.derain_code == "zero" else "own",
            "rainify_output": cfg.rainify_output,
            "crop": list(cfg.data.crop), "dataset": cfg.data.dataset, "config": config_to_dict(cfg)}
    return loop.save_step(ckpt_root, step, {n: (specs[n], nets[n]) for n in specs}, state, meta,
                          keep=cfg.keep, is_main=is_main)


def _sample_rows(out: dict[str, torch.Tensor], rainy: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
    """Rows rainy / derained / rain-swapped / reconstructed / clean, up to 4 columns."""
    k = min(4, rainy.shape[0])
    rows = [rainy, out["derained"], out["swapped"], out["cycled"], clean]
    return torch.cat([r[:k].detach().float().cpu() for r in rows])
