"""The DANNet training loop: generator step and discriminator step side by side.

One step: a source batch (labelled day) and a target batch (day/night pairs) are relit by
the shared relighting network and segmented in ONE forward (one batch: DDP allows one
forward per backward, and batch norm sees all domains); then
  generator:      w_light * L_light (all domains) + w_seg * weighted CE (source)
                + w_static * static focal loss (night vs re-weighted day pseudo label)
                + w_adv * least-squares adversarial (D_d on day, D_n on night, frozen D)
  discriminator:  1/2 [D(P_s) real, D(P_t) fake] for D_d (target day) and D_n (target night)
Terms with weight 0 are not computed, and the target images are only segmented when the
static or adversarial loss needs them (the source-only and +light ablation rows).

Example:
    cfg = resolve_config(TrainDANNetConfig, "config/training/dannet_erf-pspnet_synth-64x128.yaml")
    step_dir = train(cfg)     # or: torchrun --nproc_per_node 2 -m training train-dannet ...

Run directory (cfg.out): config.yaml, checkpoints/ (modules "model" = relight + segmenter +
re-weighting as one deployable network, "disc_d", "disc_n"), tensorboard/, metrics.jsonl.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, DistributedSampler

from training.dannet import losses
from training.dannet.config import TrainDANNetConfig
from training.dannet.data import build_source, build_target_pairs
from training.dannet.logs import night_grid, trim_log
from training.dannet.reweight import class_shares, class_weights_from_shares
from training.engine import checkpoint as ckpt
from training.engine import distributed, loop
from training.engine.config import config_to_dict, save_config
from training.engine.logging import RunLogger, append_jsonl
from training.losses.gan import discriminator_loss, generator_adv_loss
from training.models import build_model, init_from_errors
from training.models.dannet import DANNetSegmenter
from training.segmenter.evaluation import evaluate_segmenter
from training.segmenter.optim import build_optimizer, poly_factor, set_lr

log = logging.getLogger(__name__)


def module_specs(cfg: TrainDANNetConfig, weights: list[float]) -> dict[str, ckpt.ModuleSpec]:
    """What the checkpoint records; `init_from` is left out (its weights are in the checkpoint)."""
    seg_kwargs = {k: v for k, v in cfg.model.kwargs.items() if k != "init_from"}
    relight = ({"base_channels": cfg.relight.base_channels, "num_blocks": cfg.relight.num_blocks}
               if cfg.relight.enabled else None)
    model = {"segmenter_kind": cfg.model.kind,
             "segmenter_kwargs": {**seg_kwargs, "num_classes": cfg.num_classes},
             "relight_kwargs": relight, "class_weights": list(weights)}
    disc = {"num_classes": cfg.num_classes, "channels": list(cfg.discriminator.channels),
            "strides": list(cfg.discriminator.strides)}
    return {"model": ckpt.ModuleSpec("dannet_segmenter", model),
            "disc_d": ckpt.ModuleSpec("output_discriminator", disc),
            "disc_n": ckpt.ModuleSpec("output_discriminator", dict(disc))}


def checkpoint_meta(cfg: TrainDANNetConfig, shares: list[float], weights: list[float]) -> dict[str, Any]:
    """A segmenter's metadata (so evaluate / export / the runtime take it as one) + DANNet facts."""
    from rain_seg_ros.labels import IMAGENET_MEAN, IMAGENET_STD

    return {"task": "segmentation", "method": "dannet", "num_classes": cfg.num_classes,
            "class_names": list(cfg.class_names), "ignore_index": cfg.ignore_index,
            "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD), "input_size": list(cfg.augment.crop_size),
            "class_shares": shares, "class_weights": weights, "relight": cfg.relight.enabled,
            "static_classes": list(cfg.static_classes), "config": config_to_dict(cfg)}


def check_config(cfg: TrainDANNetConfig) -> None:
    """One-line errors for settings that cannot work."""
    if len(cfg.class_names) != cfg.num_classes:
        raise ValueError(f"class_names has {len(cfg.class_names)} names for num_classes={cfg.num_classes}")
    bad = [k for k in cfg.static_classes if not 0 <= k < cfg.num_classes]
    if bad:
        raise ValueError(f"static_classes {bad} are not classes of num_classes={cfg.num_classes}")
    if cfg.class_shares is not None and len(cfg.class_shares) != cfg.num_classes:
        raise ValueError(f"class_shares has {len(cfg.class_shares)} values for {cfg.num_classes} classes")
    if any(w < 0 for w in (cfg.loss.light, cfg.loss.seg, cfg.loss.static, cfg.loss.adv)):
        raise ValueError("loss weights must be >= 0 (0 switches a loss off)")
    if cfg.loss.light > 0 and not cfg.relight.enabled:
        raise ValueError("loss.light > 0 needs relight.enabled=true (there is nothing to relight)")
    if cfg.steps < 1 or cfg.batch_size < 1:
        raise ValueError("steps and batch_size must be >= 1")


def _source_weights(cfg: TrainDANNetConfig, source: Any,
                    resume_dir: Path | None) -> tuple[list[float], list[float]]:
    """Class shares (from the checkpoint on resume, the config, or the source labels) and w."""
    if resume_dir is not None:
        _, meta, _ = ckpt.read_metadata(resume_dir)
        return list(meta["class_shares"]), list(meta["class_weights"])
    shares = list(cfg.class_shares) if cfg.class_shares is not None else \
        class_shares(source, cfg.num_classes, cfg.ignore_index, where=f"source {cfg.source.root}")
    return shares, class_weights_from_shares(shares)


def _loader(dataset: Any, cfg: TrainDANNetConfig, d: distributed.Dist, seed: int):
    """Endless batches (every rank its own shard, reshuffled per epoch)."""
    sampler: DistributedSampler = DistributedSampler(dataset, num_replicas=d.world_size, rank=d.rank,
                                                     shuffle=True, seed=seed, drop_last=True)
    if len(sampler) < cfg.batch_size:
        raise ValueError(f"{len(dataset)} samples are fewer than one batch of {cfg.batch_size} per "
                         f"process x {d.world_size} processes; lower batch_size")
    loader = DataLoader(dataset, batch_size=cfg.batch_size, sampler=sampler, drop_last=True,
                        num_workers=cfg.num_workers, pin_memory=d.device.type == "cuda",
                        persistent_workers=cfg.num_workers > 0)
    epoch = 0
    while True:
        sampler.set_epoch(epoch)
        yield from loader
        epoch += 1


def train(cfg: TrainDANNetConfig) -> Path:
    """Train (or resume) DANNet; returns the last checkpoint's step directory."""
    check_config(cfg)
    d = loop.start_process(cfg.device, cfg.cpu_threads, cfg.seed)
    out = Path(cfg.out)
    ckpt_root = out / "checkpoints"
    amp = cfg.amp and d.device.type == "cuda"
    resume_dir = ckpt.latest_step_dir(ckpt_root) if cfg.resume else None
    if resume_dir is None and (ckpt_root / "latest").exists():
        raise FileExistsError(f"{out} already holds a run; pass resume=true or a new out")

    # Data first: bad input fails before any network is built.
    source = build_source(cfg)
    pairs = build_target_pairs(cfg)
    shares, weights = _source_weights(cfg, source, resume_dir)

    specs = module_specs(cfg, weights)
    # Built with `init_from` (pretrained weights, as train-segmenter), recorded without it.
    build = {**specs["model"].config,
             "segmenter_kwargs": {**cfg.model.kwargs, "num_classes": cfg.num_classes}}
    with init_from_errors(cfg.model.kwargs.get("init_from")):
        nets = {name: build_model(spec.kind, build if name == "model" else spec.config).to(d.device)
                for name, spec in specs.items()}
    model, disc_d, disc_n = cast(DANNetSegmenter, nets["model"]), nets["disc_d"], nets["disc_n"]
    if cfg.init_checkpoint:
        _init_segmenter(model.segmenter, cfg)
    w = torch.tensor(weights, device=d.device)
    opt_g = build_optimizer(cfg, model.segmenter)
    if model.relight is not None:
        opt_g.add_param_group({"params": list(model.relight.parameters()), "lr": cfg.lr, "base_lr": cfg.lr,
                               "weight_decay": cfg.weight_decay})
    params_d = [*disc_d.parameters(), *disc_n.parameters()]
    betas = (cfg.discriminator.betas[0], cfg.discriminator.betas[1])
    opt_d = torch.optim.Adam([{"params": params_d, "lr": cfg.discriminator.lr,
                               "base_lr": cfg.discriminator.lr}], betas=betas)
    scaler_g = torch.amp.GradScaler("cuda", enabled=amp)
    scaler_d = torch.amp.GradScaler("cuda", enabled=amp)
    optim = {"opt_g": opt_g, "opt_d": opt_d, "scaler_g": scaler_g, "scaler_d": scaler_d}

    start = 0
    if resume_dir is not None:
        states = ckpt.load_state_dicts(resume_dir)
        for name, net in nets.items():
            net.load_state_dict(states[name])
        state = ckpt.load_train_state(resume_dir)
        loop.load_optim_states(state, optim)
        start = int(state["step"])
        log.info("resumed from %s at step %d", resume_dir, start)

    # DDP wraps what a step trains; the frozen-D pass of the generator step uses the plain modules.
    segment = loop.wrap_ddp(_Segment(model), d)
    ddp_d, ddp_n = loop.wrap_ddp(disc_d, d), loop.wrap_ddp(disc_n, d)

    # A resumed run reshuffles from a new seed instead of replaying the first epochs' order.
    source_batches = _loader(source, cfg, d, cfg.seed + 1000 * start)
    target_batches = _loader(pairs, cfg, d, cfg.seed + 1 + 1000 * start)
    val_sets = _val_sets(cfg)
    logger = RunLogger(out / "tensorboard", enabled=d.is_main and cfg.tensorboard)
    if d.is_main:
        save_config(cfg, out / "config.yaml")
        trim_log(out / "metrics.jsonl", start)
    autocast = loop.autocast_for(amp)
    use_target = cfg.loss.static > 0 or cfg.loss.adv > 0
    need_pairs = use_target or cfg.loss.light > 0
    bar = loop.progress_bar(cfg.steps, start, "train-dannet", d.is_main and cfg.progress)
    step_dir, count, t0 = resume_dir, 0, time.perf_counter()
    sums: dict[str, float] = {}
    for step in range(start + 1, cfg.steps + 1):
        factor = poly_factor(step - 1, cfg.steps, cfg.poly_power, cfg.warmup_steps)
        set_lr(opt_g, factor)
        set_lr(opt_d, factor)
        batch = next(source_batches)
        images = batch["image"].to(d.device, non_blocking=True)       # (B, 3, H, W) [0, 1]
        masks = batch["mask"].to(d.device, non_blocking=True)         # (B, H, W) train ids
        day = night = None
        if need_pairs:
            target = next(target_batches)
            day, night = target["day"].to(d.device), target["night"].to(d.device)  # (B, 3, H, W)
        n = images.shape[0]

        # ---- generator step: relight + segmenter against frozen D_d, D_n --------------------
        loop.set_requires_grad(params_d, False)
        with autocast():
            inputs = torch.cat([images, day, night]) if day is not None and night is not None else images
            relit, logits = segment(inputs, 3 * n if use_target else n)   # (kB, 3, H, W), (k'B, K, H, W)
            g: dict[str, torch.Tensor] = {}
            g["seg"] = F.cross_entropy(logits[:n].float(), masks, weight=w, ignore_index=cfg.ignore_index)
            if cfg.loss.light > 0:
                assert day is not None and night is not None
                level = night.mean()                                  # E: the night batch's intensity
                terms = losses.light_loss(inputs.float(), relit.float(), level,
                                          tv=cfg.loss.tv, exposure=cfg.loss.exposure, structure=cfg.loss.ssim,
                                          patch=cfg.loss.exposure_patch)
                g.update(terms)
            if use_target:
                logits_d, logits_n = logits[n:2 * n], logits[2 * n:]
                if cfg.loss.static > 0:
                    pseudo = losses.reweighted_pseudo_label(logits_d, w, cfg.static_classes, cfg.ignore_index)
                    g["static"] = losses.static_loss(logits_n, pseudo, cfg.static_classes, cfg.ignore_index,
                                                     gamma=cfg.loss.focal_gamma)
                if cfg.loss.adv > 0:
                    g["adv"] = (generator_adv_loss("lsgan", disc_d(torch.softmax(logits_d.float(), 1)))
                                + generator_adv_loss("lsgan", disc_n(torch.softmax(logits_n.float(), 1))))
            weighted = [getattr(cfg.loss, k) * g[k] for k in ("light", "seg", "static", "adv") if k in g]
            g["total"] = torch.stack(weighted).sum()
        opt_g.zero_grad(set_to_none=True)
        scaler_g.scale(g["total"]).backward()
        scaler_g.step(opt_g)
        scaler_g.update()

        # ---- discriminator step: D(P_s) real, D(P_t) fake, on detached predictions --------------
        dl: dict[str, torch.Tensor] = {}
        if cfg.loss.adv > 0:
            loop.set_requires_grad(params_d, True)
            probs = torch.softmax(logits.detach().float(), 1)
            p_s, p_d, p_n = probs[:n], probs[n:2 * n], probs[2 * n:]
            with autocast():
                out_d = ddp_d(torch.cat([p_s, p_d]))
                out_n = ddp_n(torch.cat([p_s, p_n]))
                dl["d_day"] = 0.5 * discriminator_loss("lsgan", out_d[:n], out_d[n:])
                dl["d_night"] = 0.5 * discriminator_loss("lsgan", out_n[:n], out_n[n:])
                dl["total"] = dl["d_day"] + dl["d_night"]
            opt_d.zero_grad(set_to_none=True)
            scaler_d.scale(dl["total"]).backward()
            scaler_d.step(opt_d)
            scaler_d.update()

        # ---- bookkeeping ---------------------------------------------------------------------
        values = {f"g/{k}": float(v.detach()) for k, v in g.items()} | \
                 {f"d/{k}": float(v.detach()) for k, v in dl.items()}
        for k, v in values.items():
            sums[k] = sums.get(k, 0.0) + v
        count += 1
        bar.update(1)
        bar.set_postfix(total=f"{values['g/total']:.3f}", seg=f"{values['g/seg']:.3f}")
        if step % cfg.log_every == 0 or step == cfg.steps:
            means = {k: v / count for k, v in sums.items()}
            logger.scalars(means, step, prefix="loss/")
            record = {"step": step, "time_s": round(time.perf_counter() - t0, 2),
                      "lr": opt_g.param_groups[0]["lr"], **means}
            append_jsonl(out / "metrics.jsonl", record, enabled=d.is_main)
            sums, count = {}, 0
        if d.is_main and night is not None and (step % cfg.image_every == 0 or step == cfg.steps):
            grid = night_grid(model, night, relit[2 * n:] if use_target else None,
                              logits[2 * n:] if use_target else None, cfg.num_classes)
            logger.image_grid("night-relit-prediction", grid, step, nrow=min(4, n))
        if val_sets and (step % cfg.val_every == 0 or step == cfg.steps):
            if d.enabled:   # each rank's last batch moved its batch-norm statistics: score rank 0's model
                for buffer in model.buffers():
                    torch.distributed.broadcast(buffer, src=0)
            scores = {name: evaluate_segmenter(model, ds, num_classes=cfg.num_classes,
                                               class_names=cfg.class_names, ignore_index=cfg.ignore_index,
                                               device=d.device, rank=d.rank, world_size=d.world_size)["mIoU"]
                      for name, ds in val_sets.items()}
            logger.scalars(scores, step, prefix="val_mIoU/")
            append_jsonl(out / "metrics.jsonl", {"step": step, "val_mIoU": scores}, enabled=d.is_main)
        if step % cfg.ckpt_every == 0 or step == cfg.steps:
            state = {"step": step, **loop.optim_states(optim)}
            step_dir = loop.save_step(ckpt_root, step, {k: (specs[k], nets[k]) for k in nets}, state,
                                      checkpoint_meta(cfg, shares, weights), keep=cfg.keep, is_main=d.is_main)
    return loop.finish_run(bar, logger, step_dir, cfg.steps)


class _Segment(torch.nn.Module):
    """[0, 1] images -> (relit images, raw logits): the generator's one forward (DDP wraps it)."""

    def __init__(self, model: DANNetSegmenter):
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor, segmented: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Relight every image; segment the first `segmented` (the others only feed the light loss)."""
        relit = self.model.relit(images)
        return relit, self.model.segmenter((relit[:segmented] - self.model.mean) / self.model.std)


def _init_segmenter(segmenter: torch.nn.Module, cfg: TrainDANNetConfig) -> None:
    """Start from a segmenter checkpoint of the same architecture and classes (e.g. source-only)."""
    specs, meta, step = ckpt.read_metadata(cfg.init_checkpoint)
    found = specs.get("model")
    if found is None or found.kind != cfg.model.kind:
        raise ValueError(f"init_checkpoint {cfg.init_checkpoint}: its model ({found}) is not a "
                         f"{cfg.model.kind}")
    if list(meta.get("class_names", [])) != list(cfg.class_names):
        raise ValueError(f"init_checkpoint {cfg.init_checkpoint}: its classes {meta.get('class_names')} "
                         f"differ from this run's class_names")
    segmenter.load_state_dict(ckpt.load_state_dicts(cfg.init_checkpoint)["model"])
    log.info("segmenter initialised from %s (step %d)", cfg.init_checkpoint, step)


def _val_sets(cfg: TrainDANNetConfig) -> dict[str, Any]:
    from training.dannet.data import _open

    return {f"{v.split}_{v.kwargs.get('variant', v.dataset)}": _open(v, f"val[{i}]")
            for i, v in enumerate(cfg.val)}
