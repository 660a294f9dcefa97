"""DSANet's generator-side loss terms (thesis names) and their weights.

With a batch of B pairs where pair i is crossed with pair i+shift (see
training.dsanet.step), each term below is a mean over the batch:

- feature (MSE): rainy background code follows its clean twin's, ‖b'_i − sg(b_i)‖²; the
  background codes re-extracted in round 2 stay with round 1: ‖b̂'_i − sg(b'_i)‖² for the
  rain-swapped image and ‖b̂_i − sg(b_i)‖² for the derained one.
- background (L1): ‖x̂_i − x_i‖₁, derained intermediate vs clean twin.
- adversarial: D_B on derained images, D_R on rain-swapped and round-2 images.
- reconstruction (L1), the thesis's four terms: ‖x̃'_i − x'_i‖₁ (round two swaps the rain
  back) and ‖x̃_i − x_i‖₁ with x̃_i = G(b_i ⊕ r_i) (self-reconstruction of the clean image);
  summed over i ∈ {1, 2} in the thesis, averaged over the batch here (a constant factor).
- no-rain (MSE, ours): ‖r_i‖², pulls the rain code of clean images to zero. The thesis
  derains with the clean twin's rain code, which does not exist at inference; pinning it to
  zero makes "no rain" a known code, so derain() and the runtime use G(b' ⊕ 0).
- rain transfer (L1, ours): ‖G(b_i ⊕ r'_i) − x'_i‖₁, the clean background with its rainy
  twin's rain code must give the rainy twin. It makes the rain code carry the rain: without
  it G can rebuild x'_i from b'_i alone (the swap then moves no rain). 0 = the thesis's step.
- rain layer (L1, ours, `layer`): ‖(G(b_i ⊕ r'_i) − G(b_i ⊕ r_i)) − (x'_i − x_i)‖₁, what the rain
  code adds to a clean background against the real rain layer. The transfer term scores the
  sum of background and rain, and its error is dominated by how well G redraws the
  background; this one scores the rain alone (r_i is the code x̃_i was decoded with: zero with
  derain_code zero).
- cross (L1, ours, `cross`): ‖G(b_i ⊕ r'_{i+1}) − clip(x_i + x'_{i+1} − x_{i+1})‖₁, the
  partner's rain put on a clean background, against the partner's real rain layer added to
  it. It reads rain as an additive layer (true of streaks; the haze of the procedural rain
  also depends on depth, so it is an approximation) and supervises exactly what rainify does
  at inference; nothing else in the step does (the swap x̂'_12 is judged by D_R alone).
- rain-layer adversarial (ours, `adv_layer`): a third PatchGAN D_L judges rain layers, real
  x'_i − x_i against G(b_i ⊕ r'_{i+1}) − x_i (another image's rain on a clean background, what
  rainify makes); it asks for the streak statistics of real rain, not one pixel-exact layer.
- rain texture (L1, ours, `texture`): the same unpaired pair — G(b_i ⊕ r'_{i+1}) on a clean
  background against the partner's real layer x'_{i+1} − x_{i+1} — compared by their texture
  statistics (training.losses.rain_texture: fine-structure RMS per direction and scale, pixel
  phase, the mean tint and the haze), which carry over between scenes where pixels do not. The layer is
  what rainify returns minus its input: rainified − x_i (decoded output) or
  rainified − G(b_i ⊕ r_i) (residual output).

The thesis gives no weights; the defaults in LossConfig are ours.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from training.losses.gan import generator_adv_loss
from training.losses.rain_texture import rain_statistics


@dataclass
class LossConfig:
    """Loss form and weights: total = feat·L_feat + bg·L_bg + adv·L_adv + rec·L_rec
    + norain·L_norain + transfer·L_transfer + layer·L_layer + cross·L_cross
    + adv_layer·L_adv_layer + texture·L_texture."""

    gan: Literal["bce", "lsgan", "hinge"] = "bce"
    feat: float = 1.0
    bg: float = 10.0
    adv: float = 1.0
    rec: float = 10.0
    norain: float = 1.0
    transfer: float = 0.0
    layer: float = 0.0          # rain-layer L1 (needs the transfer branch, synthesised when > 0)
    cross: float = 0.0          # partner's rain on a clean background vs the additive target
    adv_layer: float = 0.0      # rain-layer discriminator D_L; 0 = no D_L (training.dsanet.step)
    texture: float = 0.0        # rain-layer texture statistics vs the partner's real layer


def rain_layer(images: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
    """The rain layer (images − clean), shifted from [-1, 1] to [0, 1], the range D expects."""
    return (images - clean + 1.0) * 0.5


def generator_losses(out: dict[str, torch.Tensor], rainy: torch.Tensor, clean: torch.Tensor,
                     disc_b: torch.nn.Module, disc_r: torch.nn.Module,
                     *, cfg: LossConfig, disc_l: torch.nn.Module | None = None,
                     residual: bool = False) -> dict[str, torch.Tensor]:
    """All generator-side terms and their weighted sum under "total".

    Args:
        out: the tensors of training.dsanet.step.forward_dsanet.
        rainy, clean: (B, 3, H, W) the input pairs.
        disc_b, disc_r: the discriminators (plain modules; their parameters frozen by the caller).
        disc_l: the rain-layer discriminator, with out["rainified"] (forward_dsanet(cross=True)).
        residual: rainify returns x + G(b ⊕ r) − G(b ⊕ r_0) (rainify_output residual), so the
            texture term reads the layer as rainified − recon_clean, not rainified − clean.
    """
    sg = torch.Tensor.detach
    feat = (F.mse_loss(out["b_rainy"].float(), sg(out["b_clean"]).float())
            + F.mse_loss(out["b_swapped"].float(), sg(out["b_rainy"]).float())
            + F.mse_loss(out["b_derained"].float(), sg(out["b_clean"]).float()))
    bg = F.l1_loss(out["derained"].float(), clean.float())
    rec = (F.l1_loss(out["cycled"].float(), rainy.float())
           + F.l1_loss(out["recon_clean"].float(), clean.float()))
    norain = out["r_clean"].float().pow(2).mean()
    transfer = F.l1_loss(out["transferred"].float(), rainy.float()) if "transferred" in out \
        else torch.zeros((), device=rainy.device)   # not synthesised: its weight is 0
    adv_b = generator_adv_loss(cfg.gan, disc_b(out["derained"]))
    adv_r = generator_adv_loss(cfg.gan, disc_r(torch.cat([out["swapped"], out["cycled"]])))
    total = (cfg.feat * feat + cfg.bg * bg + cfg.adv * (adv_b + adv_r)
             + cfg.rec * rec + cfg.norain * norain + cfg.transfer * transfer)
    terms = {"feat": feat, "bg": bg, "rec": rec, "norain": norain, "transfer": transfer,
             "adv_b": adv_b, "adv_r": adv_r}
    if cfg.layer > 0:
        fake_layer = out["transferred"].float() - out["recon_clean"].float()
        terms["layer"] = F.l1_loss(fake_layer, rainy.float() - clean.float())
        total = total + cfg.layer * terms["layer"]
    if cfg.cross > 0:
        target = (clean.float() + out["partner_layer"].float()).clamp(0, 1)
        terms["cross"] = F.l1_loss(out["rainified"].float(), target)
        total = total + cfg.cross * terms["cross"]
    if cfg.texture > 0:
        base = out["recon_clean"] if residual else clean
        fake = rain_statistics(out["rainified"].float() - base.float())
        terms["texture"] = F.l1_loss(fake, rain_statistics(out["partner_layer"].float()))
        total = total + cfg.texture * terms["texture"]
    if disc_l is not None:
        terms["adv_l"] = generator_adv_loss(cfg.gan, disc_l(rain_layer(out["rainified"], clean)))
        total = total + cfg.adv_layer * terms["adv_l"]
    return {"total": total, **terms}
