"""Stage 1 of mask restoration: train the SPADE image generator (mask -> image).

Generator step and discriminator step side by side; hinge loss on a multi-scale PatchGAN
judging (mask, image), feature matching and a perceptual loss. The result is frozen by
stage 2 (restorer_trainer.py).

Example:
    from training.engine.config import resolve_config
    cfg = resolve_config(SpadeTrainConfig, "config/training/spade_synth-64x128.yaml",
                         ["data.root=/tmp/scenes"])
    train_spade(cfg)            # or: torchrun --nproc_per_node 2 -m training train-spade ...

Run directory (cfg.out_dir): config.yaml, checkpoints/ (modules "generator", "discriminator"),
tb/ (TensorBoard), losses.jsonl.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from training.engine import checkpoint as ckpt
from training.engine import loop
from training.engine.config import config_to_dict
from training.engine.logging import RunLogger
from training.models import build_model
from training.restoration import run
from training.restoration.config import SpadeTrainConfig
from training.restoration.features import build_feature_net
from training.restoration.labels import fine_one_hot, num_classes
from training.restoration.losses import spade_d_loss, spade_g_losses

MODULE_NAMES = ("generator", "discriminator")


def module_specs(cfg: SpadeTrainConfig) -> dict[str, ckpt.ModuleSpec]:
    k, g, d = num_classes(cfg.labels), cfg.generator, cfg.discriminator
    return {"generator": ckpt.ModuleSpec("spade_generator", {
                "label_channels": k, "out_channels": 3, "base_channels": g.base_channels,
                "num_up": g.num_up, "hidden": g.hidden, "norm": g.norm, "spectral": g.spectral,
                "output": "image"}),
            "discriminator": ckpt.ModuleSpec("spade_discriminator", {
                "label_channels": k, "base_channels": d.base_channels, "num_layers": d.num_layers,
                "num_d": d.num_d})}


def train_spade(cfg: SpadeTrainConfig) -> Path:
    """Train SPADE as cfg says; returns the last checkpoint's step directory."""
    run.check_common(cfg, cfg.generator)
    dist = loop.start_process(cfg.device, cfg.cpu_threads, cfg.seed)
    dev = dist.device
    out_dir = Path(cfg.out_dir)
    use_amp = cfg.amp and dev.type == "cuda"
    k = num_classes(cfg.labels)
    feature_net = build_feature_net(vgg19=cfg.perceptual.vgg19, segmenter=cfg.perceptual.segmenter,
                                    device=dev) if cfg.loss.vgg > 0 else None

    specs = module_specs(cfg)
    nets = {name: build_model(spec.kind, spec.config).to(dev) for name, spec in specs.items()}
    params_g, params_d = list(nets["generator"].parameters()), list(nets["discriminator"].parameters())
    betas = (cfg.betas[0], cfg.betas[1])
    opt_g = torch.optim.Adam(params_g, lr=cfg.lr_g, betas=betas)
    opt_d = torch.optim.Adam(params_d, lr=cfg.lr_d, betas=betas)
    scaler_g = torch.amp.GradScaler("cuda", enabled=use_amp)
    scaler_d = torch.amp.GradScaler("cuda", enabled=use_amp)

    optim = {"opt_g": opt_g, "opt_d": opt_d, "scaler_g": scaler_g, "scaler_d": scaler_d}
    start, elapsed, point = loop.resume_run(cfg.out_dir, cfg.resume, nets,
                                            lambda state: loop.load_optim_states(state, optim))
    gen, disc = loop.wrap_ddp(nets["generator"], dist), loop.wrap_ddp(nets["discriminator"], dist)
    loader = run.step_loader(cfg, dist, start)

    logger = RunLogger(out_dir / "tb", enabled=dist.is_main)
    loop.start_run_files(cfg, out_dir, start, dist.is_main)
    autocast = loop.autocast_for(use_amp)
    bar = loop.progress_bar(cfg.steps, start, "spade", dist.is_main and cfg.progress)
    t0 = time.time() - elapsed
    losses = loop.LossLog(out_dir, t0)
    step_dir = point.step_dir if point is not None else None
    for step, batch in enumerate(loader, start=start + 1):
        image = batch["image"].to(dev, non_blocking=True)                 # (B, 3, H, W)
        label = fine_one_hot(batch["mask"].to(dev, non_blocking=True), k)  # (B, K, H, W)

        # ---- generator step: G against the frozen D --------------------------------------
        loop.set_requires_grad(params_d, False)
        with autocast():
            fake = gen(label)                                              # (B, 3, H, W)
            fake_out = nets["discriminator"](label, fake)
            with torch.no_grad():
                real_out = nets["discriminator"](label, image)
            g = spade_g_losses(fake_out, real_out, fake, image, feat=cfg.loss.feat, vgg=cfg.loss.vgg,
                               feature_net=feature_net)
        opt_g.zero_grad(set_to_none=True)
        scaler_g.scale(g["total"]).backward()
        scaler_g.step(opt_g)
        scaler_g.update()

        # ---- discriminator step: D on real vs the detached fake --------------------------
        loop.set_requires_grad(params_d, True)
        with autocast():
            d_loss = spade_d_loss(disc(label, image), disc(label, fake.detach()))
        opt_d.zero_grad(set_to_none=True)
        scaler_d.scale(d_loss).backward()
        scaler_d.step(opt_d)
        scaler_d.update()

        # ---- bookkeeping -------------------------------------------------------------------
        values = {f"g/{n}": float(v.detach()) for n, v in g.items()} | {"d/total": float(d_loss.detach())}
        losses.add(values)
        bar.update(1)
        bar.set_postfix(g=f"{values['g/total']:.3f}", d=f"{values['d/total']:.3f}")
        if step % cfg.log_every == 0 or step == cfg.steps:
            losses.flush(step, logger, dist.is_main)
        if dist.is_main and (step % cfg.image_every == 0 or step == cfg.steps):
            n = min(4, image.shape[0])
            rows = torch.cat([image[:n], fake[:n].detach().float()]).cpu()
            logger.image_grid("samples/real-synthesised", rows, step, nrow=n)
        if step % cfg.save_every == 0 or step == cfg.steps:
            state = {"step": step, "elapsed_s": time.time() - t0, **loop.optim_states(optim)}
            meta = {"task": "spade", "labels": cfg.labels, "num_classes": k, "size": list(cfg.data.size),
                    "config": config_to_dict(cfg)}
            step_dir = loop.save_step(Path(cfg.out_dir) / "checkpoints", step,
                                      {n: (specs[n], nets[n]) for n in MODULE_NAMES}, state, meta,
                                      keep=cfg.keep, is_main=dist.is_main)
    return loop.finish_run(bar, logger, step_dir, cfg.steps)
