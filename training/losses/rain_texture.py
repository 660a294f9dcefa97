"""Texture statistics of a rain layer, for a loss that needs no pixel correspondence.

A rain layer (rainy − clean) is mostly haze and darkening with thin streaks on top. Where the
rain comes from another image (rainify), no pixel of the target layer lines up with the
output, so a pixel loss can only teach the layer's mean. Its statistics do carry over: how
strong the fine structure is per orientation and scale, and how much the image darkens,
greys or tints at low resolution.

`rain_statistics(layer)` returns, per image, on the layer's luma (BT.601), every RMS as its
natural log (so a statistic twice too strong costs the same at every scale and strength):
- at scales 1, 2 and 4 px (2×2 mean pooling between scales), the RMS of the differences
  between neighbouring pixels along four directions: across columns, across rows and along
  the two diagonals (4 × 3 numbers). Streaks leaning like the real ones give the same
  direction profile; a uniform veil gives zeros; a block grid adds energy at one scale.
- at each scale, two scale-free anisotropies of those energies, in [-1, 1]: (columns − rows)
  / (columns + rows) and ("\\" − "/") / ("\\" + "/") — how much the fine structure prefers
  vertical lines, and which way it leans (the structure tensor's coherence and angle, which a
  few-percent error in the energies above would hide) (2 × 3 numbers).
- for k = 2 and 4, across columns and across rows: the log-RMS of the full-resolution differences
  across boundaries on a k-pixel grid (between pixels k·m − 1 and k·m) minus that across all
  other boundaries (4 numbers). Rain has no preferred pixel phase (≈ 0); a decoder at code
  stride k that draws its blocks unevenly has.
- the per-channel mean of the RGB layer (3 numbers): darkening and tint.
- the RMS of the 8×8-pooled luma layer about its mean (1 number): uneven haze, wet road.

Example:
    loss = (rain_statistics(fake_layer) - rain_statistics(real_layer)).abs().mean()
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

LUMA = (0.299, 0.587, 0.114)
SCALES = 3            # 1, 2, 4 px
HAZE_POOL = 8         # the low-pass scale of the haze term
GRIDS = (2, 4)        # pixel periods of the phase statistics
NUM_STATISTICS = 4 * SCALES + 2 * SCALES + 2 * len(GRIDS) + 3 + 1


def rain_statistics(layer: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) rain layers in [-1, 1] → (B, NUM_STATISTICS); H and W at least HAZE_POOL."""
    weights = layer.new_tensor(LUMA).view(1, 3, 1, 1)
    luma = (layer * weights).sum(dim=1, keepdim=True)             # (B, 1, H, W)
    stats, shape = [], []
    x = luma
    for scale in range(SCALES):
        if scale:
            x = F.avg_pool2d(x, 2)
        diffs = (x[..., :, 1:] - x[..., :, :-1],                 # across columns (vertical edges)
                 x[..., 1:, :] - x[..., :-1, :],                 # across rows (horizontal edges)
                 x[..., 1:, 1:] - x[..., :-1, :-1],              # along "\"
                 x[..., 1:, :-1] - x[..., :-1, 1:])              # along "/"
        energy = [d.pow(2).mean(dim=(1, 2, 3)) for d in diffs]
        stats += [_log_rms(e) for e in energy]
        shape += [(energy[0] - energy[1]) / (energy[0] + energy[1] + 1e-8),
                  (energy[2] - energy[3]) / (energy[2] + energy[3] + 1e-8)]
    stats += shape
    across_rows = (luma[..., 1:, :] - luma[..., :-1, :]).transpose(2, 3)
    for diff in (luma[..., :, 1:] - luma[..., :, :-1], across_rows):
        energy = diff.pow(2)                  # (B, 1, ·, n - 1); boundary j: pixels j | j + 1
        for k in GRIDS:
            on = energy[..., k - 1::k]
            off = torch.cat([energy[..., j::k] for j in range(k) if j != k - 1], dim=-1)
            stats.append(_log_rms(on.mean(dim=(1, 2, 3))) - _log_rms(off.mean(dim=(1, 2, 3))))
    stats += list(layer.mean(dim=(2, 3)).unbind(dim=1))
    low = F.avg_pool2d(luma, HAZE_POOL)
    stats.append(_log_rms((low - low.mean(dim=(2, 3), keepdim=True)).pow(2).mean(dim=(1, 2, 3))))
    return torch.stack(stats, dim=1)


def _log_rms(mean_square: torch.Tensor) -> torch.Tensor:
    """log of the RMS, floored at 1e-4 (a fortieth of a grey level) so a flat layer stays finite."""
    return 0.5 * torch.log(mean_square + 1e-8)
