"""`python -m training` / `python -m export` dispatch: usage, unknown commands, real commands."""

from __future__ import annotations

import subprocess
import sys

import pytest

from export.__main__ import COMMANDS as EXPORT_COMMANDS
from rain_seg_ros.cli import dispatch
from training.__main__ import COMMANDS as TRAINING_COMMANDS


def test_usage_lists_only_commands_that_exist(capsys: pytest.CaptureFixture[str]) -> None:
    assert dispatch("python -m training", TRAINING_COMMANDS, []) == 0
    out = capsys.readouterr().out
    assert "generate-scenes" in out and "evaluate-masks" in out
    table = {"real": ("training.commands.dataset_info", "x"), "ghost": ("training.commands.nope", "y")}
    dispatch("prog", table, ["--help"])
    out = capsys.readouterr().out
    assert "real" in out and "ghost" not in out


def test_unknown_command_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert dispatch("python -m export", EXPORT_COMMANDS, ["frobnicate"]) == 2
    assert "unknown command 'frobnicate'" in capsys.readouterr().err


def test_module_entry_point_runs_a_command() -> None:
    result = subprocess.run([sys.executable, "-m", "training", "generate-scenes", "--help"],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0
    assert "--rain-intensity" in result.stdout
