"""DANNet's losses, each a pure function of tensors (training/dannet/trainer.py weighs them).

- light:  L_light = w_tv * L_tv + w_exp * L_exp + w_ssim * L_ssim (spec weights 10, 1, 1)
    L_tv   = mean squared vertical + mean squared horizontal difference of (R - I)
    L_exp  = mean |avgpool_p(gray(R)) - E|, E the mean intensity of the night batch, p = 32
    L_ssim = (1 - SSIM(I, R)) / 2, SSIM with 3x3 box-filter statistics (reflect padding)
- static: focal loss (gamma 1) on the night prediction, the pseudo label a re-weighted day
  prediction restricted to the static classes; the probability at pixel i is
  max_k [maxpool3x3(onehot(pseudo))_k(i) * P_n,k(i)]: a class counts if it is the pseudo
  label anywhere in i's 3x3 neighbourhood, which tolerates day/night misalignment.
- segmentation: class-weighted cross entropy (torch's, with the re-weighting w).
- adversarial: least squares through training.losses.gan ("lsgan": real 1, fake 0).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

SSIM_C1 = 0.01 ** 2
SSIM_C2 = 0.03 ** 2


def tv_loss(residual: torch.Tensor) -> torch.Tensor:
    """residual (B, C, H, W) = R - I -> scalar total variation (mean of squared differences)."""
    dy = residual[:, :, 1:, :] - residual[:, :, :-1, :]
    dx = residual[:, :, :, 1:] - residual[:, :, :, :-1]
    return (dy ** 2).mean() + (dx ** 2).mean()


def exposure_loss(relit: torch.Tensor, level: torch.Tensor | float, patch: int = 32) -> torch.Tensor:
    """mean |avgpool_patch(channel mean of R) - level|; the patch shrinks to fit small images."""
    gray = relit.mean(dim=1, keepdim=True)                       # (B, 1, H, W)
    p = max(1, min(patch, gray.shape[-2], gray.shape[-1]))
    pooled = F.avg_pool2d(gray, p)                               # (B, 1, H/p, W/p)
    return (pooled - level).abs().mean()


def ssim(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-pixel SSIM map (B, C, H, W) with 3x3 box-filter means/variances, reflect-padded."""
    x, y = F.pad(x, (1, 1, 1, 1), mode="reflect"), F.pad(y, (1, 1, 1, 1), mode="reflect")
    mu_x, mu_y = F.avg_pool2d(x, 3, 1), F.avg_pool2d(y, 3, 1)
    var_x = F.avg_pool2d(x * x, 3, 1) - mu_x ** 2
    var_y = F.avg_pool2d(y * y, 3, 1) - mu_y ** 2
    cov = F.avg_pool2d(x * y, 3, 1) - mu_x * mu_y
    num = (2 * mu_x * mu_y + SSIM_C1) * (2 * cov + SSIM_C2)
    den = (mu_x ** 2 + mu_y ** 2 + SSIM_C1) * (var_x + var_y + SSIM_C2)
    return num / den


def ssim_loss(image: torch.Tensor, relit: torch.Tensor) -> torch.Tensor:
    return ((1.0 - ssim(image, relit)) / 2.0).mean()


def light_loss(image: torch.Tensor, relit: torch.Tensor, level: torch.Tensor | float, *,
               tv: float = 10.0, exposure: float = 1.0, structure: float = 1.0,
               patch: int = 32) -> dict[str, torch.Tensor]:
    """The light loss and its terms for images I and their relit R, both (B, 3, H, W)."""
    terms = {"tv": tv_loss(relit - image), "exposure": exposure_loss(relit, level, patch),
             "ssim": ssim_loss(image, relit)}
    terms["light"] = tv * terms["tv"] + exposure * terms["exposure"] + structure * terms["ssim"]
    return terms


def reweighted_pseudo_label(day_logits: torch.Tensor, weights: torch.Tensor,
                            static_classes: Sequence[int], ignore_index: int) -> torch.Tensor:
    """argmax_k(w_k * softmax(day)_k), (B, H, W); pixels whose class is not static -> ignore."""
    probs = torch.softmax(day_logits.detach().float(), dim=1) * weights.view(1, -1, 1, 1)
    label = probs.argmax(dim=1)
    static = torch.zeros(day_logits.shape[1], dtype=torch.bool, device=label.device)
    static[list(static_classes)] = True
    return torch.where(static[label], label, torch.full_like(label, ignore_index))


def static_loss(night_logits: torch.Tensor, pseudo: torch.Tensor, static_classes: Sequence[int],
                ignore_index: int, gamma: float = 1.0, eps: float = 1e-7) -> torch.Tensor:
    """Focal loss of the night prediction against a pseudo label with a 3x3 tolerance.

    Args:
        night_logits: (B, K, H, W) raw night logits.
        pseudo: (B, H, W) class ids (static classes or ignore_index).
    Returns:
        Mean over the pixels with a static pseudo label (0 when there are none).
    """
    idx = list(static_classes)
    probs = torch.softmax(night_logits.float(), dim=1)[:, idx]            # (B, S, H, W)
    onehot = torch.stack([(pseudo == k) for k in idx], dim=1).float()     # (B, S, H, W)
    near = F.max_pool2d(onehot, 3, stride=1, padding=1)                   # class anywhere in 3x3
    p = (near * probs).amax(dim=1).clamp(eps, 1.0 - eps)                  # (B, H, W)
    valid = pseudo != ignore_index
    if not bool(valid.any()):
        return night_logits.sum() * 0.0
    focal = -((1.0 - p) ** gamma) * p.log()
    return focal[valid].mean()
