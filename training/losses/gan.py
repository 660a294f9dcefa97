"""Adversarial losses on raw discriminator logits, in three common forms.

- "bce":   the original (log) GAN loss the thesis uses, non-saturating for the generator:
           D: -log σ(real) - log(1 - σ(fake));  G: -log σ(fake).
- "lsgan": least squares (Mao et al. 2017): D: (real-1)² + fake²;  G: (fake-1)².
- "hinge": (Lim & Ye 2017): D: relu(1-real) + relu(1+fake);  G: -fake.

Each term is a mean over patches and batch. BCE goes through the logits form, which is
numerically stable and safe under CUDA autocast.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

GAN_LOSSES = ("bce", "lsgan", "hinge")


def _check(kind: str) -> None:
    if kind not in GAN_LOSSES:
        raise ValueError(f"unknown GAN loss {kind!r}; choose one of {GAN_LOSSES}")


def discriminator_loss(kind: str, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Loss of a discriminator that should call `real` real and `fake` fake (a scalar)."""
    _check(kind)
    real, fake = real_logits.float(), fake_logits.float()
    if kind == "bce":
        return (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
                + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))
    if kind == "lsgan":
        return ((real - 1.0) ** 2).mean() + (fake ** 2).mean()
    return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()


def generator_adv_loss(kind: str, fake_logits: torch.Tensor) -> torch.Tensor:
    """Loss of a generator whose outputs `fake` should be judged real (a scalar)."""
    _check(kind)
    fake = fake_logits.float()
    if kind == "bce":
        return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))
    if kind == "lsgan":
        return ((fake - 1.0) ** 2).mean()
    return -fake.mean()
