"""Loss terms of SPADE training and of the mask restorer.

SPADE (generator side): hinge adversarial loss averaged over the discriminator's scales,
+ feat * feature matching (L1 between the discriminator's intermediate features of fake and
real, each layer but the logits, averaged over scales) + vgg * perceptual loss.
Mask restorer: L_total = ce * CE(r, x) + vgg * L_VGG(s, y) + l1 * L1(s, y), with s the frozen
generator's image of softmax(r) and y the real image; a weight of 0 skips its term (and the
synthesis altogether when both image terms are off).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from training.losses.gan import discriminator_loss, generator_adv_loss
from training.restoration.features import perceptual_loss


def feature_matching(fake: list[list[torch.Tensor]], real: list[list[torch.Tensor]]) -> torch.Tensor:
    """L1 of fake vs (detached) real discriminator features, all layers but the logits."""
    loss = fake[0][0].new_zeros((), dtype=torch.float32)
    for f_scale, r_scale in zip(fake, real):
        for f, r in zip(f_scale[:-1], r_scale[:-1]):
            loss = loss + F.l1_loss(f.float(), r.detach().float())
    return loss / len(fake)


def spade_d_loss(real: list[list[torch.Tensor]], fake: list[list[torch.Tensor]]) -> torch.Tensor:
    """Hinge discriminator loss averaged over scales."""
    terms = [discriminator_loss("hinge", r[-1], f[-1]) for r, f in zip(real, fake)]
    return torch.stack(terms).mean()


def spade_g_losses(fake_out: list[list[torch.Tensor]], real_out: list[list[torch.Tensor]],
                   fake: torch.Tensor, real: torch.Tensor, *, feat: float, vgg: float,
                   feature_net: torch.nn.Module | None) -> dict[str, torch.Tensor]:
    """The generator's terms and their weighted sum ("total")."""
    adv = torch.stack([generator_adv_loss("hinge", f[-1]) for f in fake_out]).mean()
    fm = feature_matching(fake_out, real_out) if feat > 0 else adv.new_zeros(())
    per = perceptual_loss(feature_net, fake, real) if vgg > 0 and feature_net is not None \
        else adv.new_zeros(())
    return {"total": adv + feat * fm + vgg * per, "adv": adv, "feat": fm, "vgg": per}


def restorer_losses(logits: torch.Tensor, fine: torch.Tensor, synth: torch.Tensor | None,
                    real: torch.Tensor, *, ce: float, vgg: float, l1: float,
                    ignore_index: int | None, feature_net: torch.nn.Module | None) -> dict[str, torch.Tensor]:
    """Terms of L_total; `synth` is None when both image terms are switched off."""
    zero = logits.new_zeros((), dtype=torch.float32)
    ignore = -100 if ignore_index is None else ignore_index   # -100: torch's "ignore nothing"
    ce_term = F.cross_entropy(logits.float(), fine, ignore_index=ignore) if ce > 0 else zero
    l1_term = F.l1_loss(synth.float(), real.float()) if l1 > 0 and synth is not None else zero
    vgg_term = perceptual_loss(feature_net, synth, real) \
        if vgg > 0 and synth is not None and feature_net is not None else zero
    total = ce * ce_term + vgg * vgg_term + l1 * l1_term
    return {"total": total, "ce": ce_term, "vgg": vgg_term, "l1": l1_term}
