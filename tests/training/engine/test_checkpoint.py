"""Checkpoints: atomic step dirs, self-describing metadata, weights-only resume state."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch

from training.engine import checkpoint as ckpt
from training.engine.checkpoint import CheckpointError, ModuleSpec


class Tiny(torch.nn.Module):
    def __init__(self, width: int = 3):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, width, 1)


def _save(root: Path, step: int, module: torch.nn.Module, keep: int = 3) -> Path:
    spec = ModuleSpec("tiny", {"width": 3})
    opt = torch.optim.Adam(module.parameters())
    return ckpt.save_checkpoint(root, step, {"model": (spec, module)},
                                train_state={"step": step, "optimizer": opt.state_dict()},
                                keep=keep, extra_meta={"task": "test"})


def test_round_trip_and_metadata(tmp_path: Path) -> None:
    module = Tiny()
    step_dir = _save(tmp_path / "checkpoints", 5, module)
    assert step_dir.name == "step_00000005"
    specs, extra, step = ckpt.read_metadata(tmp_path)  # run dir resolves through checkpoints/latest
    assert specs == {"model": ModuleSpec("tiny", {"width": 3})}
    assert extra == {"task": "test"} and step == 5
    states = ckpt.load_state_dicts(step_dir)
    torch.testing.assert_close(states["model"]["conv.weight"], module.conv.weight.detach())
    assert ckpt.load_train_state(step_dir)["step"] == 5


def test_latest_and_retention(tmp_path: Path) -> None:
    root = tmp_path / "checkpoints"
    for step in (1, 2, 3, 4):
        _save(root, step, Tiny(), keep=2)
    assert sorted(p.name for p in root.glob("step_*")) == ["step_00000003", "step_00000004"]
    assert ckpt.latest_step_dir(root) == root / "step_00000004"
    assert not list(root.glob(".tmp*"))


def test_interrupted_write_leaves_previous_latest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "checkpoints"
    _save(root, 1, Tiny())

    def boom(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(ckpt.torch, "save", boom)
    with pytest.raises(KeyboardInterrupt):
        _save(root, 2, Tiny())
    assert ckpt.latest_step_dir(root) == root / "step_00000001"
    assert not (root / "step_00000002").exists()


def test_not_a_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no checkpoint"):
        ckpt.resolve_checkpoint(tmp_path)
    bad = tmp_path / "x.safetensors"
    bad.write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="not a readable"):
        ckpt.read_metadata(bad)


def test_unknown_module_name(tmp_path: Path) -> None:
    _save(tmp_path, 1, Tiny())
    with pytest.raises(CheckpointError, match="no module"):
        ckpt.load_modules(tmp_path, ["encoder"])


def test_file_sha256_matches_hashlib(tmp_path: Path) -> None:
    data = bytes(range(256)) * 5000
    (tmp_path / "f").write_bytes(data)
    assert ckpt.file_sha256(tmp_path / "f", chunk=1000) == hashlib.sha256(data).hexdigest()


def _header_end(file: Path) -> int:
    """Bytes a safetensors file should have, computed here from its header (the format spec)."""
    import json
    import struct

    raw = file.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    return 8 + n + max(v["data_offsets"][1] for k, v in header.items() if k != "__metadata__")


def test_truncated_weights_are_named_as_truncated(tmp_path: Path) -> None:
    step_dir = _save(tmp_path, 1, Tiny())
    file = step_dir / ckpt.WEIGHTS
    assert file.stat().st_size == _header_end(file)
    file.write_bytes(file.read_bytes()[:-7])   # a tail lost to a power cut: header intact
    for load in (ckpt.read_metadata, ckpt.load_state_dicts):
        with pytest.raises(CheckpointError, match="is truncated") as err:
            load(tmp_path)
        assert str(file) in str(err.value) and "\n" not in str(err.value)


def test_cut_header_and_foreign_files_are_refused(tmp_path: Path) -> None:
    step_dir = _save(tmp_path, 1, Tiny())
    file = step_dir / ckpt.WEIGHTS
    file.write_bytes(file.read_bytes()[:20])
    with pytest.raises(CheckpointError, match="not a readable safetensors"):
        ckpt.read_metadata(file)
    other = tmp_path / "other.safetensors"   # valid safetensors, not this project's format
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(2)}, str(other), metadata={"format": "someone-else/1"})
    with pytest.raises(CheckpointError, match="is not a rain_seg_ros checkpoint"):
        ckpt.read_metadata(other)


def test_damaged_resume_state_is_a_checkpoint_error(tmp_path: Path) -> None:
    step_dir = _save(tmp_path, 1, Tiny())
    state = step_dir / ckpt.TRAIN_STATE
    state.write_bytes(state.read_bytes()[: state.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="not a readable resume state"):
        ckpt.load_train_state(step_dir)


def test_stale_temp_dirs_of_dead_processes_are_removed(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", ""])
    child.wait()   # reaped: its pid names no process now
    root = tmp_path / "checkpoints"
    dead = root / f".tmp_step_00000007_{child.pid}"
    live = root / f".tmp_step_00000008_{os.getpid()}"
    for d in (dead, live):
        d.mkdir(parents=True)
        (d / ckpt.WEIGHTS).write_bytes(b"half")
    (root / f"latest.tmp{child.pid}").write_text("step_000")
    (root / f"latest.tmp{os.getppid()}").write_text("step_000")   # our parent: alive
    _save(root, 1, Tiny())
    assert not dead.exists() and not (root / f"latest.tmp{child.pid}").exists()
    assert live.exists() and (live / ckpt.WEIGHTS).read_bytes() == b"half"
    assert (root / f"latest.tmp{os.getppid()}").exists()


def test_latest_may_only_name_a_step_dir(tmp_path: Path) -> None:
    outside = _save(tmp_path / "elsewhere", 1, Tiny())
    root = tmp_path / "run" / "checkpoints"
    _save(root, 1, Tiny())
    (root / "latest").write_text(f"../../elsewhere/{outside.name}")   # a hostile or hand-edited pointer
    with pytest.raises(CheckpointError, match="not a step directory"):
        ckpt.resolve_checkpoint(tmp_path / "run")


@pytest.mark.parametrize("header", [b"[1, 2]", b"[" * 5000 + b"]" * 5000, b'{"w": {"data_offsets": "x"}}'])
def test_odd_safetensors_headers_are_refused(header: bytes, tmp_path: Path) -> None:
    import struct

    file = tmp_path / "odd.safetensors"   # a well-formed length prefix, then a header no writer makes
    file.write_bytes(struct.pack("<Q", len(header)) + header)
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        ckpt.verify_safetensors(file)
