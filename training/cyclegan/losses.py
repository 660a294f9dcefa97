"""CycleGAN losses as pure functions of the images and the discriminators' logits.

G: day -> night, F: night -> day, D_day judges day images, D_night night images.
    generator total = GAN(D_night(G(day))) + GAN(D_day(F(night)))
                    + lambda      * (|F(G(day)) - day| + |G(F(night)) - night|)       cycle
                    + lambda * id * (|G(night) - night| + |F(day) - day|)              identity
    each discriminator = 0.5 * (GAN_real + GAN_fake)   (halved: D learns slower than G)
|.| is the mean absolute error on the [-1, 1] pixel scale the paper's lambda = 10 was tuned
for; images here are [0, 1], so it is 2 x their mean absolute error.

Example:
    g = generator_losses(images, d_day_fake=D_day(images["fake_day"]),
                         d_night_fake=D_night(images["fake_night"]), cfg=LossConfig())
    g["total"].backward()
"""

from __future__ import annotations

import torch

from training.cyclegan.config import LossConfig
from training.losses.gan import discriminator_loss, generator_adv_loss


def l1_pm1(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean |a - b| of [0, 1] images measured on the [-1, 1] scale."""
    return 2.0 * (a.float() - b.float()).abs().mean()


def generator_losses(im: dict[str, torch.Tensor], *, d_day_fake: torch.Tensor, d_night_fake: torch.Tensor,
                     cfg: LossConfig) -> dict[str, torch.Tensor]:
    """Loss terms of G and F.

    Args:
        im: "day", "night" (real, (B, 3, H, W)), "fake_night" = G(day), "fake_day" = F(night),
            "rec_day" = F(G(day)), "rec_night" = G(F(night)); with identity > 0 also
            "idt_night" = G(night) and "idt_day" = F(day).
        d_day_fake, d_night_fake: logits of D_day(fake_day) and D_night(fake_night).
    """
    adv_g = generator_adv_loss(cfg.gan, d_night_fake)
    adv_f = generator_adv_loss(cfg.gan, d_day_fake)
    cycle = cfg.cycle * (l1_pm1(im["rec_day"], im["day"]) + l1_pm1(im["rec_night"], im["night"]))
    total = adv_g + adv_f + cycle
    out = {"adv_g": adv_g, "adv_f": adv_f, "cycle": cycle}
    if cfg.identity > 0:
        identity = cfg.cycle * cfg.identity * (l1_pm1(im["idt_night"], im["night"])
                                               + l1_pm1(im["idt_day"], im["day"]))
        total = total + identity
        out["identity"] = identity
    out["total"] = total
    return out


def discriminator_losses(gan: str, *, day_real: torch.Tensor, day_fake: torch.Tensor,
                         night_real: torch.Tensor, night_fake: torch.Tensor) -> dict[str, torch.Tensor]:
    """Losses of D_day and D_night from their logits on real and (pooled, detached) fake images."""
    d_day = 0.5 * discriminator_loss(gan, day_real, day_fake)
    d_night = 0.5 * discriminator_loss(gan, night_real, night_fake)
    return {"total": d_day + d_night, "d_day": d_day, "d_night": d_night}


def lr_factor(step: int, steps: int, decay_start: float) -> float:
    """Learning-rate multiplier before `step` (0-based): 1 up to decay_start * steps, then a
    linear fall that reaches 1 / (decay steps + 1) at the last step (the paper's rule, in steps)."""
    start = int(decay_start * steps)
    if step < start:
        return 1.0
    return 1.0 - (step - start + 1) / (steps - start + 1)
