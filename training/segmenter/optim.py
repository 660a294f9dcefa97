"""Optimiser and poly learning-rate schedule for segmenters.

Parameter groups: the decode head gets `head_lr_mult` x the base LR (mmseg's SegFormer and
DeepLab recipes train a fresh head faster than a pretrained encoder); norm and bias
parameters get no weight decay. The LR of every group is set each step from its base LR and
the poly factor, so resuming needs only the optimiser state and the step.
"""

from __future__ import annotations

import torch

# Module-name prefixes of each segmenter's decode head.
HEAD_PREFIXES = ("classifier.", "model.decode_head.", "ppm.", "fuse.")


def poly_factor(step: int, total: int, power: float, warmup: int = 0) -> float:
    """Linear warm-up then (1 - step/total)^power, in (0, 1]."""
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    return max(1.0 - step / max(total, 1), 0.0) ** power


def set_lr(optimizer: torch.optim.Optimizer, factor: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = group["base_lr"] * factor


def build_optimizer(cfg, model: torch.nn.Module) -> torch.optim.Optimizer:
    """SGD (momentum) or AdamW over head/backbone x decay/no-decay parameter groups."""
    groups: dict[tuple[bool, bool], list[torch.nn.Parameter]] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        is_head = name.startswith(HEAD_PREFIXES)
        no_decay = param.ndim <= 1  # biases and norm scales
        groups.setdefault((is_head, no_decay), []).append(param)
    param_groups = []
    for (is_head, no_decay), params in sorted(groups.items()):
        lr = cfg.lr * (cfg.head_lr_mult if is_head else 1.0)
        param_groups.append({"params": params, "lr": lr, "base_lr": lr,
                             "weight_decay": 0.0 if no_decay else cfg.weight_decay})
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(param_groups, lr=cfg.lr, momentum=cfg.momentum)
    return torch.optim.AdamW(param_groups, lr=cfg.lr)
