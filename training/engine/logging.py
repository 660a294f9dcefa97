"""Run logging: TensorBoard scalars and image grids on the main process only."""

from __future__ import annotations

from pathlib import Path

import torch


class RunLogger:
    """Thin TensorBoard writer that does nothing on non-main ranks or when disabled."""

    def __init__(self, log_dir: str | Path, enabled: bool = True):
        self._writer = None
        if enabled:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(str(log_dir))

    def scalars(self, values: dict[str, float], step: int, prefix: str = "") -> None:
        if self._writer is None:
            return
        for key, value in values.items():
            self._writer.add_scalar(f"{prefix}{key}", float(value), step)

    def image_grid(self, tag: str, images: torch.Tensor, step: int, nrow: int = 4) -> None:
        """images: (N, 3, H, W) in [0, 1]; tiled into one grid image."""
        if self._writer is None:
            return
        self._writer.add_image(tag, make_grid(images, nrow), step)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.flush()
            self._writer.close()


def make_grid(images: torch.Tensor, nrow: int = 4, pad: int = 2) -> torch.Tensor:
    """Tile (N, C, H, W) into (C, rows*(H+pad)+pad, nrow*(W+pad)+pad); torchvision is unusable here."""
    n, c, h, w = images.shape
    rows = (n + nrow - 1) // nrow
    grid = torch.ones(c, rows * (h + pad) + pad, nrow * (w + pad) + pad, dtype=images.dtype)
    for i in range(n):
        r, col = divmod(i, nrow)
        y, x = pad + r * (h + pad), pad + col * (w + pad)
        grid[:, y:y + h, x:x + w] = images[i].detach().cpu()
    return grid.clamp(0, 1)
