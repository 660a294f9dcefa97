"""Run logging: TensorBoard scalars and image grids on the main process only, and the
run's JSONL record (losses.jsonl / metrics.jsonl), read back on resume."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import torch

log = logging.getLogger(__name__)


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Records of a JSONL log; a partial or corrupt LAST line is dropped with a warning.

    A run killed mid-write (power loss, full disk) can leave the last line cut; the lines
    before it were complete when written. A corrupt line elsewhere means the file is not
    this run's log, and is an error.

    Raises:
        ValueError: a line other than the last is not a JSON object (names file and line).
    """
    path = Path(path)
    lines = path.read_bytes().split(b"\n")
    while lines and not lines[-1].strip():
        lines.pop()
    records: list[dict[str, Any]] = []
    for number, raw in enumerate(lines, start=1):
        try:
            record = json.loads(raw.decode("utf-8"))
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:   # JSONDecodeError and UnicodeDecodeError are ValueErrors
            if number < len(lines):
                raise ValueError(f"{path}: line {number} is not a JSON record ({exc}); "
                                 "fix or remove the file") from exc
            log.warning("%s: dropped its last line, cut mid-write (%s)", path, exc)
            continue
        records.append(record)
    return records


def trim_jsonl(path: str | Path, step: int) -> None:
    """Keep the records up to `step` (a resumed run rewrites the rest) and rewrite the file
    atomically, so a partial last line is gone before the resumed run appends to it."""
    path = Path(path)
    if not path.is_file():
        return
    keep = [r for r in read_jsonl(path) if int(r.get("step", 0)) <= step]
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in keep))
    os.replace(tmp, path)


def append_jsonl(path: str | Path, record: dict[str, Any], *, enabled: bool = True) -> None:
    """One record as one line (enabled=False on the ranks that do not write the run's log)."""
    if enabled:
        with open(path, "a") as f:
            f.write(json.dumps(record) + "\n")


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
