"""The step-loop plumbing the GAN trainers share (training.engine.loop)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from training.engine import checkpoint as ckpt
from training.engine import loop
from training.engine.logging import RunLogger


def _save_run(out: Path, step: int, state: dict[str, Any]) -> torch.nn.Module:
    torch.manual_seed(step)
    module = torch.nn.Linear(3, 2)
    loop.save_step(out / "checkpoints", step, {"model": (ckpt.ModuleSpec("tiny", {}), module)},
                   state, {"task": "test"}, keep=0, is_main=True)
    return module


def test_a_fresh_run_refuses_a_directory_that_holds_one(tmp_path: Path) -> None:
    _save_run(tmp_path, 2, {"step": 2})
    with pytest.raises(FileExistsError, match="already holds a run; pass resume=true"):
        loop.resume_run(tmp_path, False, {"model": torch.nn.Linear(3, 2)}, lambda state: None)


def test_an_empty_directory_starts_at_step_zero(tmp_path: Path) -> None:
    fresh = loop.resume_run(tmp_path, True, {"model": torch.nn.Linear(3, 2)}, lambda state: None)
    assert fresh == (0, 0.0, None)


def test_resume_restores_weights_step_time_and_state(tmp_path: Path) -> None:
    saved = _save_run(tmp_path, 5, {"step": 5, "elapsed_s": 12.5, "extra": [1, 2]})
    net, seen = torch.nn.Linear(3, 2), []
    start, elapsed, point = loop.resume_run(tmp_path, True, {"model": net}, seen.append)
    assert (start, elapsed) == (5, 12.5)
    assert point is not None and point.step_dir == tmp_path / "checkpoints" / "step_00000005"
    assert seen[0]["extra"] == [1, 2]
    torch.testing.assert_close(net.weight, saved.weight)


def test_resume_from_a_checkpoint_without_elapsed_time(tmp_path: Path) -> None:
    """DSANet checkpoints written before 2026-11-22 hold no elapsed_s."""
    _save_run(tmp_path, 3, {"step": 3})
    start, elapsed, _ = loop.resume_run(tmp_path, True, {"model": torch.nn.Linear(3, 2)}, lambda state: None)
    assert (start, elapsed) == (3, 0.0)


def test_loss_log_writes_the_means_since_the_last_line(tmp_path: Path) -> None:
    losses = loop.LossLog(tmp_path, t0=0.0)
    logger = RunLogger(tmp_path / "tb", enabled=False)
    for a, b in ((1.0, 10.0), (3.0, 20.0)):
        losses.add({"g/a": a, "d/b": b})
    losses.flush(2, logger, is_main=True)
    losses.add({"g/a": 7.0, "d/b": 0.0})
    losses.flush(3, logger, is_main=True)
    losses.flush(4, logger, is_main=True)   # nothing added since: no line
    losses.add({"g/a": 1.0, "d/b": 1.0})
    losses.flush(5, logger, is_main=False)  # other ranks write nothing, and start over
    records = [json.loads(line) for line in (tmp_path / "losses.jsonl").read_text().splitlines()]
    assert [(r["step"], r["g/a"], r["d/b"]) for r in records] == [(2, 2.0, 15.0), (3, 7.0, 0.0)]
    assert losses.count == 0


def test_a_run_that_trained_nothing_says_so(tmp_path: Path) -> None:
    bar = loop.progress_bar(0, 0, "test", enabled=False)
    with pytest.raises(RuntimeError, match="nothing trained: steps=0"):
        loop.finish_run(bar, RunLogger(tmp_path, enabled=False), None, 0)
    last = loop.finish_run(bar, RunLogger(tmp_path, enabled=False), tmp_path / "step_1", 1)
    assert last == tmp_path / "step_1"


def test_optimiser_and_scaler_states_round_trip() -> None:
    net = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(net.parameters(), lr=0.1)
    net(torch.ones(1, 3)).sum().backward()
    opt.step()
    scaler = torch.amp.GradScaler("cuda", enabled=False)
    state = {"step": 1, **loop.optim_states({"opt": opt, "scaler": scaler})}
    assert list(state) == ["step", "opt", "scaler"]
    fresh = torch.optim.Adam(torch.nn.Linear(3, 2).parameters(), lr=0.5)
    loop.load_optim_states(state, {"opt": fresh})
    assert fresh.param_groups[0]["lr"] == 0.1
    torch.testing.assert_close(fresh.state_dict()["state"][0]["exp_avg"], opt.state[net.weight]["exp_avg"])


def test_endless_batches_reshuffle_each_pass_and_record_the_epoch():
    from training.engine.loop import EndlessBatches

    class Sampler:
        def __init__(self):
            self.epochs = []

        def set_epoch(self, epoch):
            self.epochs.append(epoch)

    sampler = Sampler()
    batches = EndlessBatches(["a", "b"], sampler, epoch=3)       # a resumed run in epoch 3
    assert sampler.epochs == []                                    # nothing touched before use
    got = [next(batches) for _ in range(5)]
    assert got == ["a", "b", "a", "b", "a"]
    assert sampler.epochs == [3, 4, 5] and batches.epoch == 5
