"""One DSANet step, as pure functions: the forward of both rounds and the D losses.

Pairing: a batch holds B rain/clean pairs; pair i ("pair 1") is crossed with pair
(i + shift) mod B ("pair 2"), so every pair plays both roles and one batch of B = 2 is
exactly the thesis's two pairs per step. mode "ours" uses shift = 1; the Input-1 ablation
uses shift = 0: each pair is crossed with itself, i.e. no rain exchange between images
(only derain, self-reconstruction and the round trip of its own rain).

The backward passes and optimiser steps live in training.dsanet.trainer, where the
generator step and the discriminator step sit side by side.
"""

from __future__ import annotations

import torch

from training.losses.dsanet import rain_layer
from training.losses.gan import discriminator_loss
from training.models.dsanet import join_codes, split_codes


def forward_dsanet(encoder: torch.nn.Module, generator: torch.nn.Module, rainy: torch.Tensor,
                   clean: torch.Tensor, shift: int, derain_code: str = "twin",
                   transfer: bool = True, cross: bool = False) -> dict[str, torch.Tensor]:
    """Both synthesis rounds of the spec for B pairs (rainy x', clean x), each (B, 3, H, W).

    derain_code: "twin" derains with the clean twin's rain code r_1 as the thesis does;
    "zero" with the zero code that derain() uses at inference, where no twin exists. With
    "twin", r_1 can carry the twin's own background into x̂_1, a leak only the no-rain loss
    (r_1 -> 0) closes. The same no-rain code decodes the clean self-reconstruction, so with
    "zero" G(b ⊕ 0) is trained on clean backgrounds too and derain leaves clean images alone.
    transfer: also synthesise "transferred" (skipped when its loss weight is 0).
    cross: also synthesise "rainified" = G(b_1 ⊕ r'_2), what rainify makes at inference (a
    clean background with another image's rain), for the rain-layer discriminator and the
    cross term, with "partner_layer" = x'_2 − x_2, the real rain layer of pair 2.

    Returns the codes and images the losses need:
        b_rainy, r_rainy, b_clean, r_clean   round-1 codes            (B, C/2, H/4, W/4)
        swapped   x̂'_12 = G(b'_1 ⊕ r'_2)     rain of the partner      (B, 3, H, W)
        derained  x̂_1   = G(b'_1 ⊕ r_1)      no-rain code of the twin (or 0)
        recon_clean x̃_1 = G(b_1 ⊕ r_1)       self-reconstruction (r_1 = 0 with "zero")
        transferred     = G(b_1 ⊕ r'_1)      the pair's own rain on its clean twin ≈ x'_1 (if transfer)
        rainified       = G(b_1 ⊕ r'_2)      the partner's rain on the clean background (if cross)
        partner_layer   = x'_2 − x_2         the partner's real rain layer              (if cross)
        b_swapped, b_derained                round-2 background codes
        cycled    x̃'_1  = G(b̂'_1 ⊕ r̂'_1)    rain swapped back        ≈ x'_1
    """
    n = rainy.shape[0]
    f = encoder(torch.cat([rainy, clean]))                   # (2B, C, h, w)
    b_rainy, r_rainy = split_codes(f[:n])
    b_clean, r_clean = split_codes(f[n:])
    r_partner = torch.roll(r_rainy, shifts=-shift, dims=0)   # [i] = r'[i + shift]
    if derain_code not in ("twin", "zero"):
        raise ValueError(f"derain_code must be 'twin' or 'zero', got {derain_code!r}")
    r_none = r_clean if derain_code == "twin" else torch.zeros_like(r_clean)

    # Round 1: the syntheses share one generator call (instance norm is per sample).
    codes = [join_codes(b_rainy, r_partner), join_codes(b_rainy, r_none), join_codes(b_clean, r_none)]
    if transfer:
        codes.append(join_codes(b_clean, r_rainy))
    if cross:
        codes.append(join_codes(b_clean, r_partner))
    g1 = generator(torch.cat(codes))                          # (3B to 5B, 3, H, W)
    swapped, derained, recon_clean = g1[:n], g1[n:2 * n], g1[2 * n:3 * n]

    # Round 2: re-encode, then give each background its own rain back. swapped[j] carries
    # the rain of pair j + shift, so pair i's rain sits in r_sw[i - shift].
    f2 = encoder(torch.cat([swapped, derained]))             # (2B, C, h, w)
    b_swapped, r_sw = split_codes(f2[:n])
    b_derained, _ = split_codes(f2[n:])
    r_back = torch.roll(r_sw, shifts=shift, dims=0)
    cycled = generator(join_codes(b_swapped, r_back))        # (B, 3, H, W)
    out = {"b_rainy": b_rainy, "r_rainy": r_rainy, "b_clean": b_clean, "r_clean": r_clean,
           "swapped": swapped, "derained": derained, "recon_clean": recon_clean,
           "b_swapped": b_swapped, "b_derained": b_derained, "cycled": cycled}
    if transfer:
        out["transferred"] = g1[3 * n:4 * n]
    if cross:
        out["rainified"] = g1[-n:]
        out["partner_layer"] = torch.roll(rainy - clean, shifts=-shift, dims=0)   # [i] = layer[i + shift]
    return out


def discriminator_losses(disc_b: torch.nn.Module, disc_r: torch.nn.Module,
                         out: dict[str, torch.Tensor], rainy: torch.Tensor, clean: torch.Tensor,
                         *, gan: str, disc_l: torch.nn.Module | None = None) -> dict[str, torch.Tensor]:
    """D_B: clean real vs derained fake; D_R: rainy real vs rain-swapped + round-2 fakes;
    D_L (if given): real rain layers (rainy − clean) vs those of "rainified" (− its clean).

    The fakes are detached: this step trains only the discriminators.
    """
    fake_clean = out["derained"].detach()
    fake_rainy = torch.cat([out["swapped"], out["cycled"]]).detach()
    d_b = discriminator_loss(gan, disc_b(clean), disc_b(fake_clean))
    d_r = discriminator_loss(gan, disc_r(rainy), disc_r(fake_rainy))
    terms = {"total": d_b + d_r, "d_b": d_b, "d_r": d_r}
    if disc_l is not None:
        fake_layer = rain_layer(out["rainified"].detach(), clean)
        terms["d_l"] = discriminator_loss(gan, disc_l(rain_layer(rainy, clean)), disc_l(fake_layer))
        terms["total"] = terms["total"] + terms["d_l"]
    return terms
