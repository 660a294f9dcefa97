"""The CycleGAN training loop: generator step and discriminator step side by side.

Example:
    from training.engine.config import resolve_config
    cfg = resolve_config(CycleGANTrainConfig, "config/training/cyclegan_synth-128x128.yaml")
    train(cfg)                       # or: torchrun --nproc_per_node 2 -m training train-cyclegan ...

Run directory (cfg.out_dir): config.yaml (resolved), checkpoints/ (training.engine.checkpoint,
modules "gen_g" = G day->night, "gen_f" = F night->day, "disc_day", "disc_night"; task
"cyclegan"), tb/ (TensorBoard: losses and the grids day | G(day) | F(G(day)) and
night | F(night) | G(F(night))), losses.jsonl.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

from training.cyclegan.config import CycleGANTrainConfig
from training.cyclegan.data import UnpairedBatchSampler, UnpairedCrops, check_sizes, find_domains
from training.cyclegan.losses import discriminator_losses, generator_losses, lr_factor
from training.cyclegan.pool import ImagePool
from training.engine import checkpoint as ckpt
from training.engine import distributed, loop
from training.engine.config import check_crop, config_to_dict
from training.engine.logging import RunLogger
from training.models import build_model

MODULE_NAMES = ("gen_g", "gen_f", "disc_day", "disc_night")
TASK = "cyclegan"


def module_specs(cfg: CycleGANTrainConfig) -> dict[str, ckpt.ModuleSpec]:
    """Kinds and constructor kwargs of the four networks (what the checkpoint records)."""
    m = cfg.model
    gen = {"base_channels": m.gen_channels, "num_blocks": m.gen_blocks, "num_down": m.gen_down}
    disc = {"base_channels": m.disc_channels, "num_layers": m.disc_layers}
    return {"gen_g": ckpt.ModuleSpec("resnet_generator", gen),
            "gen_f": ckpt.ModuleSpec("resnet_generator", dict(gen)),
            "disc_day": ckpt.ModuleSpec("patch_discriminator", disc),
            "disc_night": ckpt.ModuleSpec("patch_discriminator", dict(disc))}


def _check(cfg: CycleGANTrainConfig) -> tuple[tuple[int, int], tuple[int, int] | None]:
    crop = check_crop(cfg.data.crop, 2 ** cfg.model.gen_down)
    if cfg.data.resize and len(cfg.data.resize) != 2:
        raise ValueError(f"data.resize must be [H, W] or empty; got {cfg.data.resize}")
    if not 0.0 <= cfg.decay_start <= 1.0:
        raise ValueError(f"decay_start must be in [0, 1], got {cfg.decay_start}")
    resize = (cfg.data.resize[0], cfg.data.resize[1]) if cfg.data.resize else None
    return crop, resize


def train(cfg: CycleGANTrainConfig) -> Path:
    """Train CycleGAN as cfg says; returns the last checkpoint's step directory."""
    crop, resize = _check(cfg)
    day, night = find_domains(cfg.data)
    check_sizes(day, crop, resize, "day")
    check_sizes(night, crop, resize, "night")
    dist = loop.start_process(cfg.device, cfg.cpu_threads, cfg.seed)
    dev = dist.device
    out_dir = Path(cfg.out_dir)
    ckpt_root = out_dir / "checkpoints"
    use_amp = cfg.amp and dev.type == "cuda"

    specs = module_specs(cfg)
    nets = {name: build_model(spec.kind, spec.config).to(dev) for name, spec in specs.items()}
    params_g = [*nets["gen_g"].parameters(), *nets["gen_f"].parameters()]
    params_d = [*nets["disc_day"].parameters(), *nets["disc_night"].parameters()]
    betas = (cfg.betas[0], cfg.betas[1])
    opt_g = torch.optim.Adam(params_g, lr=cfg.lr, betas=betas)
    opt_d = torch.optim.Adam(params_d, lr=cfg.lr, betas=betas)
    scaler_g = torch.amp.GradScaler("cuda", enabled=use_amp)
    scaler_d = torch.amp.GradScaler("cuda", enabled=use_amp)
    # one pool per discriminator, seeded per rank (each rank pools its own fakes)
    pools = {"day": ImagePool(cfg.pool_size, seed=cfg.seed * 2 + dist.rank * 7919),
             "night": ImagePool(cfg.pool_size, seed=cfg.seed * 2 + 1 + dist.rank * 7919)}

    optim = {"opt_g": opt_g, "opt_d": opt_d, "scaler_g": scaler_g, "scaler_d": scaler_d}

    def load_state(state: dict[str, Any]) -> None:
        loop.load_optim_states(state, optim)
        for name, pool in pools.items():
            pool.load_state_dict(state["pools"][dist.rank][name], dev)

    start, elapsed, point = loop.resume_run(out_dir, cfg.resume, nets, load_state)
    gen_g, gen_f = loop.wrap_ddp(nets["gen_g"], dist), loop.wrap_ddp(nets["gen_f"], dist)
    disc_day, disc_night = loop.wrap_ddp(nets["disc_day"], dist), loop.wrap_ddp(nets["disc_night"], dist)

    sampler = UnpairedBatchSampler(len(day), len(night), cfg.batch_size, seed=cfg.seed, start_step=start,
                                   steps=cfg.steps, rank=dist.rank, world_size=dist.world_size)
    loader = DataLoader(UnpairedCrops(day, night, crop, resize, cfg.data.flip), batch_sampler=sampler,
                        num_workers=cfg.data.num_workers, pin_memory=dev.type == "cuda")
    logger = RunLogger(out_dir / "tb", enabled=dist.is_main and cfg.tensorboard)
    loop.start_run_files(cfg, out_dir, start, dist.is_main)
    autocast = loop.autocast_for(use_amp)
    bar = loop.progress_bar(cfg.steps, start, "cyclegan", dist.is_main and cfg.progress)
    t0 = time.time() - elapsed
    losses = loop.LossLog(out_dir, t0)
    step_dir = point.step_dir if point is not None else None
    for step, batch in enumerate(loader, start=start + 1):
        real_day = batch["day"].to(dev, non_blocking=True)       # (B, 3, H, W)
        real_night = batch["night"].to(dev, non_blocking=True)   # (B, 3, H, W)
        lr = cfg.lr * lr_factor(step - 1, cfg.steps, cfg.decay_start)
        for opt in (opt_g, opt_d):
            for group in opt.param_groups:
                group["lr"] = lr

        # ---- generator step: G and F against frozen D_day, D_night ---------------------
        loop.set_requires_grad(params_d, False)
        with autocast():
            im = forward_cycle(gen_g, gen_f, real_day, real_night, identity=cfg.loss.identity > 0)
            g = generator_losses(im, d_day_fake=nets["disc_day"](im["fake_day"]),
                                 d_night_fake=nets["disc_night"](im["fake_night"]), cfg=cfg.loss)
        opt_g.zero_grad(set_to_none=True)
        scaler_g.scale(g["total"]).backward()
        scaler_g.step(opt_g)
        scaler_g.update()

        # ---- discriminator step: real images vs pooled, detached fakes -------------------
        loop.set_requires_grad(params_d, True)
        fake_day = pools["day"].query(im["fake_day"].detach())
        fake_night = pools["night"].query(im["fake_night"].detach())
        with autocast():
            d = discriminator_losses(cfg.loss.gan, day_real=disc_day(real_day), day_fake=disc_day(fake_day),
                                     night_real=disc_night(real_night), night_fake=disc_night(fake_night))
        opt_d.zero_grad(set_to_none=True)
        scaler_d.scale(d["total"]).backward()
        scaler_d.step(opt_d)
        scaler_d.update()

        # ---- bookkeeping -----------------------------------------------------------------
        values = ({f"g/{k}": float(v.detach()) for k, v in g.items()}
                  | {f"d/{k}": float(v.detach()) for k, v in d.items()} | {"lr": lr})
        losses.add(values)
        bar.update(1)
        bar.set_postfix(g=f"{values['g/total']:.3f}", cyc=f"{values['g/cycle']:.3f}",
                        d=f"{values['d/total']:.3f}")
        if step % cfg.log_every == 0 or step == cfg.steps:
            losses.flush(step, logger, dist.is_main)
        if dist.is_main and (step % cfg.image_every == 0 or step == cfg.steps):
            k = min(4, real_day.shape[0])
            rows = [real_day, im["fake_night"], im["rec_day"], real_night, im["fake_day"], im["rec_night"]]
            logger.image_grid("samples/day-G(day)-F(G(day))|night-F(night)-G(F(night))",
                              torch.cat([r[:k].detach().float().cpu() for r in rows]), step, nrow=k)
        if step % cfg.save_every == 0 or step == cfg.steps:
            step_dir = _save(cfg, ckpt_root, step, nets, pools, dist=dist, state={
                "step": step, "elapsed_s": time.time() - t0, **loop.optim_states(optim)})
    return loop.finish_run(bar, logger, step_dir, cfg.steps)


def forward_cycle(gen_g: torch.nn.Module, gen_f: torch.nn.Module, day: torch.Tensor, night: torch.Tensor,
                  *, identity: bool) -> dict[str, torch.Tensor]:
    """Both cycles, two calls per generator (instance norm is per sample, so batching the
    identity inputs with the translations changes nothing but the speed)."""
    n = day.shape[0]
    g1 = gen_g(torch.cat([day, night]) if identity else day)      # G(day) [, G(night)]
    f1 = gen_f(torch.cat([night, day]) if identity else night)    # F(night) [, F(day)]
    im = {"day": day, "night": night, "fake_night": g1[:n], "fake_day": f1[:n]}
    if identity:
        im["idt_night"], im["idt_day"] = g1[n:], f1[n:]
    im["rec_night"] = gen_g(im["fake_day"])                        # G(F(night))
    im["rec_day"] = gen_f(im["fake_night"])                        # F(G(day))
    return im


def _save(cfg: CycleGANTrainConfig, ckpt_root: Path, step: int, nets: dict[str, torch.nn.Module],
          pools: dict[str, ImagePool], *, dist: distributed.Dist, state: dict[str, Any]) -> Path:
    """Checkpoint on the main rank; every rank's pools go into the resume state."""
    mine = {name: pool.state_dict() for name, pool in pools.items()}
    if dist.enabled:
        gathered: list[Any] = [None] * dist.world_size
        torch.distributed.all_gather_object(gathered, mine)
        state["pools"] = gathered
    else:
        state["pools"] = [mine]
    specs = module_specs(cfg)
    meta = {"task": TASK, "directions": {"day2night": "gen_g", "night2day": "gen_f"},
            "crop": list(cfg.data.crop), "source": cfg.data.source, "config": config_to_dict(cfg)}
    return loop.save_step(ckpt_root, step, {n: (specs[n], nets[n]) for n in MODULE_NAMES}, state, meta,
                          keep=cfg.keep, is_main=dist.is_main)
