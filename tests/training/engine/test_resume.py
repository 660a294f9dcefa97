"""Resume walks from the newest step directory to older ones, skipping damaged ones."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch

from training.engine import checkpoint as ckpt
from training.engine.checkpoint import CheckpointError, ModuleSpec
from training.engine.resume import find_resume_point, load_weights, step_dirs_newest_first


def _save(root: Path, step: int) -> torch.nn.Module:
    torch.manual_seed(step)
    module = torch.nn.Conv2d(3, 2, 1)
    ckpt.save_checkpoint(root, step, {"model": (ModuleSpec("tiny", {}), module)},
                         train_state={"step": step}, keep=0)
    return module


def test_numeric_order_past_eight_digits(tmp_path: Path) -> None:
    for name in ("step_00000009", "step_100000000", "step_00000010", "not_a_step"):
        (tmp_path / name).mkdir()
    assert [p.name for p in step_dirs_newest_first(tmp_path)] == [
        "step_100000000", "step_00000010", "step_00000009"]


def test_falls_back_past_damaged_steps_and_says_so(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    modules = {step: _save(tmp_path, step) for step in (1, 2, 3)}
    weights = tmp_path / "step_00000003" / ckpt.WEIGHTS
    weights.write_bytes(weights.read_bytes()[:-10])                              # truncated tail
    (tmp_path / "step_00000002" / ckpt.TRAIN_STATE).write_bytes(b"PK\x03\x04cut")  # cut zip
    with caplog.at_level(logging.WARNING):
        point = find_resume_point(tmp_path, ("model",))
    assert point is not None and point.step_dir.name == "step_00000001"
    assert point.train_state["step"] == 1
    net = torch.nn.Conv2d(3, 2, 1)
    load_weights({"model": net}, point)
    assert torch.equal(net.weight, modules[1].weight)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(str(weights) in w and "truncated" in w for w in warnings)
    assert any("step_00000002" in w and ckpt.TRAIN_STATE in w for w in warnings)
    assert any("resuming from" in w and "step_00000001" in w for w in warnings)


def test_no_intact_checkpoint_is_one_clear_error(tmp_path: Path) -> None:
    _save(tmp_path, 1)
    (tmp_path / "step_00000001" / ckpt.WEIGHTS).write_bytes(b"\x00" * 3)
    with pytest.raises(CheckpointError, match="no intact checkpoint") as err:
        find_resume_point(tmp_path, ("model",))
    assert "\n" not in str(err.value)
    assert find_resume_point(tmp_path / "fresh", ("model",)) is None   # nothing yet: a fresh start


def test_weights_of_another_config_are_named(tmp_path: Path) -> None:
    _save(tmp_path, 1)
    point = find_resume_point(tmp_path, ("model",))
    assert point is not None
    with pytest.raises(CheckpointError, match="do not fit this run's config"):
        load_weights({"model": torch.nn.Conv2d(3, 5, 1)}, point)
