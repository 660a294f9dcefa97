"""Resume from the newest intact checkpoint of a run, skipping damaged ones.

A power loss or a full disk can leave the newest step directory unreadable (a truncated
model.safetensors, a cut train_state.pt). Older steps are kept (`keep`), so resume walks the
step directories from newest to oldest, warns about each damaged one (file and why) and
continues from the first one that reads fully.

Example:
    point = find_resume_point(out_dir / "checkpoints", modules=("model",))
    if point is not None:
        load_weights({"model": model}, point)
        optimizer.load_state_dict(point.train_state["optimizer"])
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from rain_seg_ros.cli import one_line
from training.engine.checkpoint import STEP_DIR, CheckpointError, load_state_dicts, load_train_state

log = logging.getLogger(__name__)


@dataclass
class ResumePoint:
    """A step directory that read fully: its weights by module and its resume state."""

    step_dir: Path
    state_dicts: dict[str, dict[str, torch.Tensor]]
    train_state: dict[str, Any]


def step_dirs_newest_first(ckpt_root: str | Path) -> list[Path]:
    """The `step_N` directories under ckpt_root, highest N first (numeric, not lexical, order)."""
    root = Path(ckpt_root)
    if not root.is_dir():
        return []
    dirs = [(int(m[1]), p) for p in root.iterdir() if (m := STEP_DIR.match(p.name)) and p.is_dir()]
    return [p for _, p in sorted(dirs, reverse=True)]


def find_resume_point(ckpt_root: str | Path, modules: tuple[str, ...]) -> ResumePoint | None:
    """The newest step directory whose weights and resume state read fully.

    Args:
        ckpt_root: the run's checkpoints directory.
        modules: module names a resume needs in the weights file.
    Returns:
        None when the run has no step directory (a fresh start).
    Raises:
        CheckpointError: step directories exist but none is intact (one line, each reason).
    """
    reasons = []
    for step_dir in step_dirs_newest_first(ckpt_root):
        try:
            states = load_state_dicts(step_dir)
            missing = [name for name in modules if name not in states]
            if missing:
                raise CheckpointError(f"{step_dir}: no weights for module(s) {missing}")
            state = load_train_state(step_dir)
        except CheckpointError as exc:
            reasons.append(one_line(exc))
            log.warning("skipping damaged checkpoint: %s", reasons[-1])
            continue
        if reasons:
            log.warning("resuming from %s, the newest intact checkpoint", step_dir)
        return ResumePoint(step_dir, states, state)
    if reasons:
        raise CheckpointError(f"no intact checkpoint under {ckpt_root} to resume from "
                              f"({'; '.join(reasons)}); start a new out_dir")
    return None


def load_weights(nets: dict[str, torch.nn.Module], point: ResumePoint) -> None:
    """Load each net's weights from the resume point; a config that changed since the
    checkpoint (other widths, other kind) is one clear error, not a shape traceback."""
    for name, net in nets.items():
        try:
            net.load_state_dict(point.state_dicts[name])
        except RuntimeError as exc:
            raise CheckpointError(f"{point.step_dir}: the {name!r} weights do not fit this run's "
                                  f"config ({one_line(exc)}); resume with the run's own config "
                                  "or use a new out_dir") from exc
