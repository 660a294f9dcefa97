"""Stage 2 of mask restoration: train the mask generator through the frozen SPADE generator.

One step: make the incomplete mask of each fine mask (sparse or x8, training.restoration
.incomplete), restore it to class logits r, L_mask = CE(r, x) against the fine mask; send
softmax(r) through the frozen image generator to s, L_image = L_VGG(s, y) + L1(s, y) against
the real image y. Only the mask generator is updated; the image generator only passes
gradients back. Every term has a weight (0 = off) for the paper's ablation.

Example:
    cfg = resolve_config(MaskRestorerConfig, "config/training/mask-restorer_synth-64x128.yaml",
                         ["task=sr8", "spade=runs/spade", "data.root=/tmp/scenes"])
    train_restorer(cfg)

Run directory: config.yaml, checkpoints/ (module "mask_generator"), tb/, losses.jsonl.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import torch

from training.engine import checkpoint as ckpt
from training.engine import loop
from training.engine.config import ConfigError, config_to_dict
from training.engine.logging import RunLogger
from training.models import build_model
from training.restoration import run
from training.restoration.config import MaskRestorerConfig
from training.restoration.features import build_feature_net
from training.restoration.frozen import load_frozen_spade
from training.restoration.labels import ignore_index, incomplete_one_hot, num_classes
from training.restoration.losses import restorer_losses


def module_spec(cfg: MaskRestorerConfig) -> ckpt.ModuleSpec:
    k, g = num_classes(cfg.labels), cfg.generator
    return ckpt.ModuleSpec("spade_generator", {
        "label_channels": k + 1, "out_channels": k, "base_channels": g.base_channels, "num_up": g.num_up,
        "hidden": g.hidden, "norm": g.norm, "spectral": g.spectral, "output": "logits"})


def train_restorer(cfg: MaskRestorerConfig) -> Path:
    """Train the mask generator as cfg says; returns the last checkpoint's step directory."""
    run.check_common(cfg, cfg.generator)
    incomplete = dataclasses.replace(cfg.incomplete, task=cfg.task)
    dist = loop.start_process(cfg.device, cfg.cpu_threads, cfg.seed)
    dev = dist.device
    out_dir = Path(cfg.out_dir)
    use_amp = cfg.amp and dev.type == "cuda"
    k, ignore = num_classes(cfg.labels), ignore_index(cfg.labels)
    image_terms = cfg.loss.vgg > 0 or cfg.loss.l1 > 0
    if not (cfg.loss.ce > 0 or image_terms):
        raise ConfigError("every loss term is off (loss.ce, loss.vgg, loss.l1 are all 0)")
    frozen, spade_meta = load_frozen_spade(cfg.spade, dev) if image_terms else (None, {})
    if frozen is not None and spade_meta.get("labels") != cfg.labels:
        raise ConfigError(f"spade={cfg.spade} was trained on {spade_meta.get('labels')}, this run "
                          f"uses labels={cfg.labels}; use one scheme for both")
    feature_net = build_feature_net(vgg19=cfg.perceptual.vgg19, segmenter=cfg.perceptual.segmenter,
                                    device=dev) if cfg.loss.vgg > 0 else None

    spec = module_spec(cfg)
    net = build_model(spec.kind, spec.config).to(dev)
    params = list(net.parameters())
    opt = torch.optim.Adam(params, lr=cfg.lr, betas=(cfg.betas[0], cfg.betas[1]))
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)

    optim = {"opt": opt, "scaler": scaler}
    start, elapsed, point = loop.resume_run(cfg.out_dir, cfg.resume, {"mask_generator": net},
                                            lambda state: loop.load_optim_states(state, optim))
    mask_gen = loop.wrap_ddp(net, dist)
    loader = run.step_loader(cfg, dist, start, incomplete=incomplete)

    logger = RunLogger(out_dir / "tb", enabled=dist.is_main)
    loop.start_run_files(cfg, out_dir, start, dist.is_main)
    autocast = loop.autocast_for(use_amp)
    bar = loop.progress_bar(cfg.steps, start, f"mask-restorer[{cfg.task}]", dist.is_main and cfg.progress)
    t0 = time.time() - elapsed
    losses = loop.LossLog(out_dir, t0)
    step_dir = point.step_dir if point is not None else None
    meta = {"task": "mask_restorer", "restore_task": cfg.task, "labels": cfg.labels, "num_classes": k,
            "size": list(cfg.data.size), "incomplete": dataclasses.asdict(incomplete), "spade": cfg.spade,
            "config": config_to_dict(cfg)}
    for step, batch in enumerate(loader, start=start + 1):
        image = batch["image"].to(dev, non_blocking=True)          # (B, 3, H, W) real y
        fine = batch["mask"].to(dev, non_blocking=True)            # (B, H, W) fine x
        known = incomplete_one_hot(batch["incomplete"].to(dev, non_blocking=True), k)  # (B, K+1, H, W)

        # ---- mask generator step through the frozen image generator ----------------------
        with autocast():
            logits = mask_gen(known)                               # (B, K, H, W) r
            synth = frozen(torch.softmax(logits, 1)) if frozen is not None else None   # (B, 3, H, W) s
            terms = restorer_losses(logits, fine, synth, image, ce=cfg.loss.ce, vgg=cfg.loss.vgg,
                                    l1=cfg.loss.l1, ignore_index=ignore, feature_net=feature_net)
        opt.zero_grad(set_to_none=True)
        scaler.scale(terms["total"]).backward()
        scaler.step(opt)
        scaler.update()

        # ---- bookkeeping -------------------------------------------------------------------
        losses.add({n: float(v.detach()) for n, v in terms.items()})
        bar.update(1)
        bar.set_postfix(total=f"{float(terms['total'].detach()):.3f}")
        if step % cfg.log_every == 0 or step == cfg.steps:
            losses.flush(step, logger, dist.is_main)
        if dist.is_main and synth is not None and (step % cfg.image_every == 0 or step == cfg.steps):
            n = min(4, image.shape[0])
            rows = torch.cat([image[:n], synth[:n].detach().float()]).cpu()
            logger.image_grid("samples/real-synthesised", rows, step, nrow=n)
        if step % cfg.save_every == 0 or step == cfg.steps:
            state = {"step": step, "elapsed_s": time.time() - t0, **loop.optim_states(optim)}
            step_dir = loop.save_step(Path(cfg.out_dir) / "checkpoints", step,
                                      {"mask_generator": (spec, net)}, state, meta,
                                      keep=cfg.keep, is_main=dist.is_main)
    return loop.finish_run(bar, logger, step_dir, cfg.steps)
