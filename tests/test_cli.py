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


# ---- one-line errors ------------------------------------------------------------------
# Each case runs the real command in-process through the dispatcher; stderr must be exactly
# one `error: ...` line naming the file, and --debug must add the traceback.

def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    rc = dispatch("python -m training", TRAINING_COMMANDS, argv)
    return rc, capsys.readouterr().err.splitlines()


def _assert_one_line(argv: list[str], capsys: pytest.CaptureFixture[str], *says: str) -> None:
    rc, err = _run(argv, capsys)
    assert rc == 2 and len(err) == 1, err
    assert err[0].startswith("error: ") and all(s in err[0] for s in says), err[0]
    rc, err = _run([*argv, "--debug"], capsys)
    assert rc == 2 and err[0] == "Traceback (most recent call last):" and err[-1].startswith("error: ")


@pytest.fixture
def dsanet_ckpt(tmp_path):
    from tests.training.dsanet.dsanet_helpers import tiny_checkpoint

    return tiny_checkpoint(tmp_path / "dsanet" / "checkpoints") / "model.safetensors"


def test_rainify_with_a_truncated_dsanet(dsanet_ckpt, tmp_path, capsys) -> None:
    dsanet_ckpt.write_bytes(dsanet_ckpt.read_bytes()[:-100])
    _assert_one_line(["rainify", "--dsanet", str(dsanet_ckpt), "--images", str(tmp_path),
                      "--bank", str(tmp_path / "bank.safetensors"), "--out", str(tmp_path / "o")],
                     capsys, str(dsanet_ckpt), "is truncated")


def test_rainify_with_a_garbage_bank(dsanet_ckpt, tmp_path, capsys) -> None:
    bank = tmp_path / "bank.safetensors"
    bank.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)   # an image renamed .safetensors
    _assert_one_line(["rainify", "--dsanet", str(dsanet_ckpt), "--images", str(tmp_path),
                      "--bank", str(bank), "--out", str(tmp_path / "o")],
                     capsys, str(bank), "not a readable safetensors file")


def test_derain_with_a_segmenter_checkpoint(tmp_path, capsys) -> None:
    from tests.training.dsanet.dsanet_helpers import tiny_checkpoint

    seg = tiny_checkpoint(tmp_path / "seg", task="segmentation")
    _assert_one_line(["derain", "--dsanet", str(seg), "--in", str(tmp_path), "--out", str(tmp_path / "o")],
                     capsys, str(seg), "not a DSANet checkpoint", "segmentation")


def test_evaluate_with_a_truncated_checkpoint(tmp_path, capsys) -> None:
    from tests.training.dsanet.dsanet_helpers import tiny_checkpoint
    from tests.training.segmenter.layouts import write_cityscapes

    root = write_cityscapes(tmp_path / "cs", "val", 1)
    weights = tiny_checkpoint(tmp_path / "seg", task="segmentation") / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-1])
    _assert_one_line(["evaluate", "--checkpoint", str(tmp_path / "seg"), "--dataset", "cityscapes",
                      "--root", str(root), "--device", "cpu"], capsys, str(weights), "is truncated")


@pytest.mark.parametrize("case", ["init_checkpoint-garbage", "init_checkpoint-dsanet",
                                  "init_from-missing", "init_from-garbage"])
def test_train_segmenter_with_a_bad_init_file(case, dsanet_ckpt, tmp_path, capsys) -> None:
    garbage = tmp_path / "weights.pth"
    garbage.write_bytes(b"\x80\x04garbage" * 10)
    model = ["model.kind=erf_pspnet", "model.kwargs={channels: [8, 16, 32], head_channels: 16}"]
    if case == "init_checkpoint-garbage":
        extra, says = [*model, f"init_checkpoint={garbage}"], [str(garbage), "not a readable"]
    elif case == "init_checkpoint-dsanet":
        extra, says = [*model, f"init_checkpoint={dsanet_ckpt}"], ["is a DSANet checkpoint where a segmenter"]
    else:
        path = garbage if case == "init_from-garbage" else tmp_path / "missing.pth"
        extra = ["model.kind=deeplabv3", f"model.kwargs={{init_from: {path}}}"]
        says = [f"model.kwargs.init_from={path}",
                "not a PyTorch weights file" if case == "init_from-garbage" else "no such file"]
    _assert_one_line(["train-segmenter", f"out={tmp_path / 'run'}", "device=cpu", *extra], capsys, *says)


def test_unexpected_errors_say_so_in_one_line(tmp_path, capsys, monkeypatch) -> None:
    (tmp_path / "buggy_command.py").write_text("def main(argv):\n    return {}['missing']\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    table = {"buggy": ("buggy_command", "raises a KeyError")}
    assert dispatch("prog", table, ["buggy"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == ["unexpected error: KeyError: 'missing' (run with --debug for the traceback)"]
    monkeypatch.setenv("RAIN_SEG_DEBUG", "1")
    assert dispatch("prog", table, ["buggy"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "Traceback (most recent call last):"
    assert err[-1] == "unexpected error: KeyError: 'missing'"


@pytest.mark.parametrize("command", ["derain", "rainify"])
def test_an_empty_image_folder_is_named(command, dsanet_ckpt, tmp_path, capsys) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no images here")
    if command == "derain":
        argv, says = ["derain", "--dsanet", str(dsanet_ckpt), "--in", str(empty)], f"--in {empty}: no images"
    else:
        argv = ["rainify", "--dsanet", str(dsanet_ckpt), "--images", str(tmp_path), "--rain-refs", str(empty)]
        says = f"--rain-refs {empty}: no images"
    _assert_one_line([*argv, "--out", str(tmp_path / "o")], capsys, says)
