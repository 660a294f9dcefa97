"""Plumbing the step-loop trainers share (DSANet, CycleGAN, SPADE, the mask restorer, DANNet).

Each trainer keeps its loop readable top to bottom in its own `train()`; what every one of
them would otherwise repeat word for word lives here: process start-up, resume, the run's
files, the loss record, the progress bar, DDP wrapping, checkpoint saving and the end of a run.

Example:
    dist = start_process(cfg.device, cfg.cpu_threads, cfg.seed)
    start, elapsed, point = resume_run(out_dir, cfg.resume, nets, load_state)
    start_run_files(cfg, out_dir, start, dist.is_main)
    losses = LossLog(out_dir, time.time() - elapsed)
    ...
    return finish_run(bar, logger, step_dir, cfg.steps)
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch.nn.parallel import DistributedDataParallel as DDP
from tqdm import tqdm

from training.engine import checkpoint as ckpt
from training.engine import distributed
from training.engine.config import save_config
from training.engine.logging import RunLogger, append_jsonl, trim_jsonl
from training.engine.resume import ResumePoint, find_resume_point, load_weights


def start_process(device: str, cpu_threads: int, seed: int) -> distributed.Dist:
    """Thread count (0 keeps torch's), the process group, and the same seed on every rank
    (the same init everywhere; DDP also broadcasts)."""
    if cpu_threads > 0:
        torch.set_num_threads(cpu_threads)
    dist = distributed.setup(device)
    distributed.seed_everything(seed)
    return dist


def resume_run(out_dir: str | Path, resume: bool, nets: dict[str, torch.nn.Module],
               load_state: Callable[[dict[str, Any]], None]) -> tuple[int, float, ResumePoint | None]:
    """(steps done, training seconds so far, the point) from out_dir/checkpoints.

    With resume, the newest intact checkpoint's weights go into `nets` and its train state
    to `load_state`; without, a directory that already holds a run is refused.
    """
    root = Path(out_dir) / "checkpoints"
    point = find_resume_point(root, tuple(nets)) if resume else None
    if point is None:
        if (root / "latest").exists() and not resume:
            raise FileExistsError(f"{out_dir} already holds a run; pass resume=true or a new out_dir")
        return 0, 0.0, None
    load_weights(nets, point)
    load_state(point.train_state)
    # elapsed_s is absent in DSANet checkpoints before 2026-11-22
    return int(point.train_state["step"]), float(point.train_state.get("elapsed_s", 0.0)), point


def optim_states(parts: dict[str, Any]) -> dict[str, Any]:
    """{name: state_dict()} of the optimisers and grad scalers that go into the resume state."""
    return {name: part.state_dict() for name, part in parts.items()}


def load_optim_states(state: dict[str, Any], parts: dict[str, Any]) -> None:
    """The reverse of optim_states: each part from the resume state's entry of its name."""
    for name, part in parts.items():
        part.load_state_dict(state[name])


def start_run_files(cfg: Any, out_dir: Path, start: int, is_main: bool) -> None:
    """config.yaml (resolved) and losses.jsonl: emptied for a fresh run, cut to the resume step."""
    if is_main:
        save_config(cfg, out_dir / "config.yaml")
        if start == 0:
            (out_dir / "losses.jsonl").unlink(missing_ok=True)
        trim_jsonl(out_dir / "losses.jsonl", start)   # drops steps past the resume point


def wrap_ddp(module: torch.nn.Module, dist: distributed.Dist) -> torch.nn.Module:
    """DDP around what a step trains (the module itself in a single process)."""
    if not dist.enabled:
        return module
    return DDP(module, device_ids=[dist.device.index] if dist.device.type == "cuda" else None)


def autocast_for(use_amp: bool) -> Callable[[], Any]:
    return (lambda: torch.autocast("cuda", dtype=torch.float16)) if use_amp else contextlib.nullcontext


def progress_bar(steps: int, start: int, desc: str, enabled: bool) -> tqdm:
    return tqdm(total=steps, initial=start, desc=desc, unit="step", disable=not enabled, dynamic_ncols=True)


def set_requires_grad(params: list[torch.nn.Parameter], flag: bool) -> None:
    for p in params:
        p.requires_grad_(flag)


class LossLog:
    """Running means of the step losses, written to TensorBoard and losses.jsonl every log_every."""

    def __init__(self, out_dir: Path, t0: float) -> None:
        self.path, self.t0 = out_dir / "losses.jsonl", t0
        self.sums: dict[str, float] = {}
        self.count = 0

    def add(self, values: dict[str, float]) -> None:
        for k, v in values.items():
            self.sums[k] = self.sums.get(k, 0.0) + v
        self.count += 1

    def flush(self, step: int, logger: RunLogger, is_main: bool) -> None:
        if not self.count:
            return
        means = {k: v / self.count for k, v in self.sums.items()}
        if is_main:
            logger.scalars(means, step, prefix="loss/")
            # time_s counts all runs of this directory (t0 is moved back by the resumed time)
            append_jsonl(self.path, {"step": step, "time_s": round(time.time() - self.t0, 2)} | means)
        self.sums, self.count = {}, 0


def save_step(ckpt_root: Path, step: int, modules: dict[str, tuple[ckpt.ModuleSpec, torch.nn.Module]],
              state: dict[str, Any], meta: dict[str, Any], *, keep: int, is_main: bool) -> Path:
    """Atomic checkpoint (training.engine.checkpoint) on the main rank; every rank waits, so
    no rank runs ahead of a checkpoint it might be killed before."""
    step_dir = ckpt_root / f"step_{step:08d}"   # what every rank returns
    if is_main:
        step_dir = ckpt.save_checkpoint(ckpt_root, step, modules, state, keep=keep, extra_meta=meta)
    distributed.barrier()
    return step_dir


def finish_run(bar: tqdm, logger: RunLogger, step_dir: Path | None, steps: int) -> Path:
    """Close the bar, the TensorBoard writer and the process group; the last step directory."""
    bar.close()
    logger.close()
    distributed.cleanup()
    if step_dir is None:
        raise RuntimeError(f"nothing trained: steps={steps}")
    return Path(step_dir)


class EndlessBatches:
    """The batches of `loader` forever, the sampler reshuffled each epoch. `epoch` is what a
    checkpoint records, so a resumed run goes on with the same shuffles (train-segmenter,
    train-condition).

    Args:
        loader: a DataLoader over `sampler`.
        sampler: a DistributedSampler (set_epoch(epoch) before each pass).
        epoch: the epoch to start in (a resumed run's recorded one).
    """

    def __init__(self, loader: Any, sampler: Any, epoch: int = 0) -> None:
        self.loader, self.sampler, self.epoch = loader, sampler, epoch
        self._it: Any = None

    def __iter__(self) -> EndlessBatches:
        return self

    def __next__(self) -> Any:
        if self._it is None:
            self.sampler.set_epoch(self.epoch)
            self._it = iter(self.loader)
        try:
            return next(self._it)
        except StopIteration:   # the pass is over: next epoch, reshuffled
            self.epoch += 1
            self.sampler.set_epoch(self.epoch)
            self._it = iter(self.loader)
            return next(self._it)
