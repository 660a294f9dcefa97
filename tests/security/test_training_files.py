"""Hostile and damaged training files: pickled code, YAML tags, truncated checkpoints, cut logs.

Every payload here would create a marker file if it were executed; each test first proves
its payload is live (an unsafe loader does run it), then that the project refuses it in one
line and the marker never appears. The fault tests damage the newest checkpoint and the loss
log of a real (tiny) run and resume it.
"""

from __future__ import annotations

import json
import logging
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from rain_seg_ros.cli import dispatch
from training.__main__ import COMMANDS
from training.engine import checkpoint as ckpt
from training.engine.checkpoint import CheckpointError, ModuleSpec
from training.engine.config import ConfigError, resolve_config
from training.engine.resume import find_resume_point


class _Payload:
    """Unpickling this creates `marker` (builtins.open in write mode): proof of execution."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _assert_payload_is_live(tmp_path: Path) -> None:
    """The payload runs under plain pickle (so a refusal below is a real refusal)."""
    proof = tmp_path / "proof"
    pickle.loads(pickle.dumps(_Payload(proof)))
    assert proof.exists()


def _step_dir(root: Path) -> Path:
    module = torch.nn.Conv2d(3, 2, 1)
    return ckpt.save_checkpoint(root, 1, {"model": (ModuleSpec("tiny", {}), module)},
                                train_state={"step": 1}, extra_meta={"task": "segmentation"})


def test_pickle_in_place_of_safetensors_is_refused(tmp_path: Path, capsys) -> None:
    marker = tmp_path / "marker"
    _assert_payload_is_live(tmp_path)
    step_dir = _step_dir(tmp_path / "checkpoints")
    (step_dir / ckpt.WEIGHTS).write_bytes(pickle.dumps(_Payload(marker)))
    for load in (ckpt.read_metadata, ckpt.load_state_dicts, ckpt.load_modules):
        with pytest.raises(CheckpointError, match="not a readable safetensors file"):
            load(step_dir)
    with pytest.raises(CheckpointError, match="no intact checkpoint"):
        find_resume_point(tmp_path / "checkpoints", ("model",))
    assert dispatch("python -m training", COMMANDS, ["derain", "--dsanet", str(step_dir), "--in",
                                                      str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert len(capsys.readouterr().err.splitlines()) == 1
    assert not marker.exists()


@pytest.mark.parametrize("container", ["torch-zip", "raw-pickle"])
def test_pickled_resume_state_is_refused(container: str, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    step_dir = _step_dir(tmp_path / "checkpoints")
    state = step_dir / ckpt.TRAIN_STATE
    if container == "torch-zip":   # what torch.save of a hostile object writes
        torch.save({"step": 1, "evil": _Payload(marker)}, state)
        assert not marker.exists()
    else:
        state.write_bytes(pickle.dumps({"step": 1, "evil": _Payload(marker)}))
    with pytest.raises(CheckpointError, match="refused") as err:
        ckpt.load_train_state(step_dir)
    assert str(state) in str(err.value) and "weights_only=False" not in str(err.value)
    with pytest.raises(CheckpointError, match="no intact checkpoint"):
        find_resume_point(tmp_path / "checkpoints", ("model",))
    assert not marker.exists()


def test_yaml_python_tag_in_a_config_is_refused(tmp_path: Path, capsys) -> None:
    marker = tmp_path / "marker"
    evil = f"steps: 3\nlr_g: !!python/object/apply:os.system ['touch {marker}']\n"
    yaml.unsafe_load(evil.replace(str(marker), str(tmp_path / "proof")))   # live under an unsafe loader
    assert (tmp_path / "proof").exists()
    config = tmp_path / "evil.yaml"
    config.write_text(evil)
    from training.dsanet.config import DSANetTrainConfig

    with pytest.raises(ConfigError, match="not a plain YAML config"):
        resolve_config(DSANetTrainConfig, config)
    with pytest.raises(ConfigError, match="not a plain YAML value"):
        resolve_config(DSANetTrainConfig, None, [f"steps=!!python/object/apply:os.system ['touch {marker}']"])
    rc = dispatch("python -m training", COMMANDS, ["train-dsanet", "--config", str(config),
                                                   f"out_dir={tmp_path / 'run'}"])
    err = capsys.readouterr().err.splitlines()
    assert rc == 2 and len(err) == 1 and str(config) in err[0], err
    assert not marker.exists()


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", ""])
    child.wait()
    return child.pid


def _damage_newest(run: Path, log_name: str, newest: int) -> Path:
    """Truncate the newest weights, cut the log's last line, leave a dead saver's temp dir."""
    weights = run / "checkpoints" / f"step_{newest:08d}" / ckpt.WEIGHTS
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with open(run / log_name, "a") as f:
        f.write('{"step": 99, "los')
    stale = run / "checkpoints" / f".tmp_step_{newest + 1:08d}_{_dead_pid()}"
    stale.mkdir()
    return weights


def _steps_logged(path: Path) -> list[int]:
    return [json.loads(line)["step"] for line in path.read_text().splitlines()]   # every line parses


def test_dsanet_resume_after_a_damaged_checkpoint_and_log(tmp_path: Path, caplog) -> None:
    import training.dsanet.trainer as trainer
    from tests.training.dsanet.dsanet_helpers import TINY, TinyPairs
    from training.dsanet.config import DSANetTrainConfig

    def cfg(*extra: str) -> DSANetTrainConfig:
        return resolve_config(DSANetTrainConfig, None, [*TINY, f"out_dir={tmp_path / 'run'}", "batch_size=2",
                                                        "save_every=1", "log_every=1", "keep=3", *extra])

    trainer.train(cfg("steps=3"), TinyPairs(4))
    weights = _damage_newest(tmp_path / "run", "losses.jsonl", 3)
    with caplog.at_level(logging.WARNING):
        last = trainer.train(cfg("steps=4", "resume=true"), TinyPairs(4))
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert any(str(weights) in w and "truncated" in w for w in warnings), warnings
    assert any("resuming from" in w and w.endswith("step_00000002, the newest intact checkpoint")
               for w in warnings), warnings
    assert any("losses.jsonl: dropped its last line" in w for w in warnings), warnings
    assert last.name == "step_00000004" and ckpt.load_train_state(last)["step"] == 4
    assert ckpt.read_metadata(tmp_path / "run" / "checkpoints" / "step_00000003")[2] == 3   # re-written whole
    assert _steps_logged(tmp_path / "run" / "losses.jsonl") == [1, 2, 3, 4]
    assert not list((tmp_path / "run" / "checkpoints").glob(".tmp_*"))


def test_segmenter_resume_after_a_damaged_checkpoint_and_log(tmp_path: Path, caplog) -> None:
    from tests.training.segmenter.layouts import write_cityscapes

    root = write_cityscapes(tmp_path / "cs", "train", 4)
    run = tmp_path / "run"
    args = ["train-segmenter", f"out={run}", f"train=[{{root: {root}, split: train}}]",
            "augment.crop_size=[32, 64]", "batch_size=2", "num_workers=0", "log_every=1",
            "ckpt_every=1", "tensorboard=false", "device=cpu", "cpu_threads=1",
            "model.kind=erf_pspnet", "model.kwargs={channels: [8, 16, 32], head_channels: 16}"]
    assert dispatch("python -m training", COMMANDS, [*args, "steps=3"]) == 0
    weights = _damage_newest(run, "metrics.jsonl", 3)
    with caplog.at_level(logging.WARNING):
        assert dispatch("python -m training", COMMANDS, [*args, "steps=4", "resume=true"]) == 0
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert any(str(weights) in w and "truncated" in w for w in warnings), warnings
    assert any("resuming from" in w and "step_00000002" in w for w in warnings), warnings
    assert ckpt.load_train_state(run / "checkpoints" / "step_00000004")["step"] == 4
    assert _steps_logged(run / "metrics.jsonl") == [1, 2, 3, 4]
    assert not list((run / "checkpoints").glob(".tmp_*"))


def _png_header(width: int, height: int) -> bytes:
    """A tiny PNG file that declares a width x height RGB image (PNG spec: IHDR, IDAT, IEND)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
            + chunk(b"IEND", b""))


def test_images_are_bounded_and_judged_by_content(tmp_path: Path, capsys) -> None:
    from training.dsanet.io import MAX_PIXELS, read_image

    bomb = tmp_path / "refs" / "bomb.png"   # 60 MP declared in 100 bytes
    bomb.parent.mkdir()
    bomb.write_bytes(_png_header(10_000, 6_000))
    assert 10_000 * 6_000 > MAX_PIXELS and bomb.stat().st_size < 200
    with pytest.raises(ValueError, match="larger than the 50 megapixels") as err:
        read_image(bomb)
    assert str(bomb) in str(err.value)
    fake = tmp_path / "fake.png"   # a pickle named .png: the extension is not trusted
    fake.write_bytes(pickle.dumps(_Payload(tmp_path / "marker")))
    with pytest.raises(ValueError, match="not a readable image"):
        read_image(fake)
    assert not (tmp_path / "marker").exists()
