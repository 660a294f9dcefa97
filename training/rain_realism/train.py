"""Train the rain/no-rain detector on procedural rainy vs clean twins; score held-out scenes.

Each step takes batch_size/2 random crops from random training twins: the rainy crop is
labelled 1, the clean crop at the same place 0, and shares of the clean crops get a grey
veil (`veil_negatives`) or a 2/4/8-px block grid (`grid_negatives`) first: a washed-out image
is not rain, nor is a decoder's block pattern, so the detector must look for streaks. Binary
cross-entropy on the image logit, Adam with a cosine decay to 0. At the end every held-out
twin is scored whole: accuracy on rainy vs clean, and the shares of veiled and of gridded
clean images called rainy.

Example:
    cfg = resolve_config(RainDetectorTrainConfig, "config/training/rain-detector_synth-256x512.yaml",
                         ["data.root=/tmp/scenes"])
    step_dir, report = train(cfg)
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from training.engine.config import config_to_dict, save_config
from training.rain_realism.config import RainDetectorTrainConfig
from training.rain_realism.data import block_artefacts, grey_veil, load_twins, scene_twins
from training.rain_realism.detector import RainDetector, rain_probability, save_detector


def _crops(rainy: torch.Tensor, clean: torch.Tensor, cfg: RainDetectorTrainConfig,
           gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch of rainy crops and their clean twins' crops, float in [0, 1], and the labels."""
    n, _, h, w = rainy.shape
    half = max(cfg.batch_size // 2, 1)
    size_h, size_w = min(cfg.crop, h), min(cfg.crop, w)
    idx = torch.randint(n, (half,), generator=gen)
    ys = torch.randint(h - size_h + 1, (half,), generator=gen)
    xs = torch.randint(w - size_w + 1, (half,), generator=gen)
    flips = torch.rand(half, generator=gen) < 0.5
    pos, neg = [], []
    for i, y, x, flip in zip(idx.tolist(), ys.tolist(), xs.tolist(), flips.tolist()):
        a = rainy[i, :, y:y + size_h, x:x + size_w]
        b = clean[i, :, y:y + size_h, x:x + size_w]
        pos.append(a.flip(-1) if flip else a)
        neg.append(b.flip(-1) if flip else b)
    pos_t = torch.stack(pos).float() / 255.0   # (B/2, 3, crop, crop)
    neg_t = torch.stack(neg).float() / 255.0
    veiled = torch.rand(half, generator=gen) < cfg.veil_negatives
    if veiled.any():
        neg_t[veiled] = grey_veil(neg_t[veiled], gen)
    gridded = torch.rand(half, generator=gen) < cfg.grid_negatives
    if gridded.any():
        neg_t[gridded] = block_artefacts(neg_t[gridded], gen)
    images = torch.cat([pos_t, neg_t])
    labels = torch.cat([torch.ones(half), torch.zeros(half)])
    return images, labels


def score_images(net: RainDetector, images: torch.Tensor, batch: int = 4) -> torch.Tensor:
    """(N,) rain probabilities of uint8 or [0, 1] float (N, 3, H, W) images, a few at a time."""
    out = []
    for start in range(0, images.shape[0], batch):
        chunk = images[start:start + batch]
        chunk = chunk.float() / 255.0 if chunk.dtype == torch.uint8 else chunk
        out.append(rain_probability(net, chunk))
    return torch.cat(out) if out else torch.zeros(0)


def heldout_scores(net: RainDetector, rainy: torch.Tensor, clean: torch.Tensor, threshold: float,
                   seed: int) -> dict[str, Any]:
    """Accuracy on held-out rainy vs clean twins, and how often a veiled or block-gridded clean
    image is called rainy."""
    p_rain, p_clean = score_images(net, rainy), score_images(net, clean)
    gen = torch.Generator().manual_seed(seed + 1)
    p_veil = score_images(net, grey_veil(clean.float() / 255.0, gen))
    p_grid = score_images(net, block_artefacts(clean.float() / 255.0, gen))
    tpr = float((p_rain > threshold).float().mean())
    tnr = float((p_clean <= threshold).float().mean())
    return {"pairs": int(rainy.shape[0]), "accuracy": (tpr + tnr) / 2, "rainy_called_rainy": tpr,
            "clean_called_rainy": 1.0 - tnr,
            "veiled_clean_called_rainy": float((p_veil > threshold).float().mean()),
            "gridded_clean_called_rainy": float((p_grid > threshold).float().mean()),
            "mean_probability_rainy": float(p_rain.mean()), "mean_probability_clean": float(p_clean.mean())}


def train(cfg: RainDetectorTrainConfig) -> tuple[Path, dict[str, Any]]:
    """Train, evaluate on the held-out split, save the checkpoint; returns (step dir, report)."""
    if cfg.data.train_split == cfg.data.eval_split:
        raise ValueError(f"data.eval_split={cfg.data.eval_split!r} must differ from data.train_split: "
                         "the held-out accuracy needs scenes the detector has not seen")
    if cfg.steps < 1 or cfg.batch_size < 2 or cfg.crop < 8 or not 0.0 <= cfg.veil_negatives <= 1.0:
        raise ValueError("steps >= 1, batch_size >= 2, crop >= 8 and veil_negatives in [0, 1] are required")
    torch.set_num_threads(max(cfg.cpu_threads, 1))
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    train_pairs = scene_twins(cfg.data.root, cfg.data.train_split, cfg.data.max_pairs)
    eval_pairs = scene_twins(cfg.data.root, cfg.data.eval_split, cfg.data.max_pairs)
    rainy, clean = load_twins(train_pairs)
    out_dir = Path(cfg.out_dir)
    save_config(cfg, out_dir / "config.yaml")

    net = RainDetector(width=cfg.model.width, depth=cfg.model.depth)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    # cosine decay to 0: the last weights are the ones scored and saved, so they must not be
    # taken mid-oscillation (at a constant 1e-3 the held-out clean false alarms swung 0..20 %)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.steps)
    start, log = time.time(), []
    for step in range(1, cfg.steps + 1):
        net.train()
        images, labels = _crops(rainy, clean, cfg, gen)
        loss = F.binary_cross_entropy_with_logits(net(images), labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if step % cfg.log_every == 0 or step == cfg.steps:
            log.append({"step": step, "loss": loss.item(), "seconds": round(time.time() - start, 1)})
    train_seconds = time.time() - start

    del rainy, clean
    report = {"heldout": heldout_scores(net, *load_twins(eval_pairs), cfg.threshold, cfg.seed),
              "train_pairs": len(train_pairs), "train_seconds": round(train_seconds, 1),
              "threshold": cfg.threshold, "data_root": str(cfg.data.root),
              "train_split": cfg.data.train_split, "eval_split": cfg.data.eval_split}
    (out_dir / "losses.jsonl").write_text("".join(json.dumps(r) + "\n" for r in log))
    step_dir = save_detector(out_dir, net, cfg.steps, {**report, "config": config_to_dict(cfg)})
    return step_dir, report
