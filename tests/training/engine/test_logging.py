"""The run's JSONL log survives a write cut mid-line (power loss, full disk)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from training.engine.logging import append_jsonl, read_jsonl, trim_jsonl


def test_partial_last_line_is_dropped_with_a_warning(tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    log = tmp_path / "losses.jsonl"
    full = [{"step": 2, "loss": 0.5}, {"step": 4, "loss": 0.25}]
    text = "".join(json.dumps(r) + "\n" for r in full)
    log.write_bytes(text.encode() + b'{"step": 6, "lo')
    with caplog.at_level(logging.WARNING):
        assert read_jsonl(log) == full
    assert any(str(log) in r.getMessage() for r in caplog.records)
    log.write_bytes(text.encode() + "{\"step\": 6, \"name\": \"é".encode()[:-1])  # cut inside a UTF-8 char
    assert read_jsonl(log) == full


def test_corrupt_middle_line_is_an_error(tmp_path: Path) -> None:
    log = tmp_path / "losses.jsonl"
    log.write_text('{"step": 2}\nnot json\n{"step": 4}\n')
    with pytest.raises(ValueError, match="line 2"):
        read_jsonl(log)


def test_trim_rewrites_a_valid_log_up_to_the_step(tmp_path: Path) -> None:
    log = tmp_path / "metrics.jsonl"
    log.write_text('{"step": 2}\n{"step": 4, "val": {"mIoU": 1.0}}\n{"step": 6}\n{"step": 8, "lo')
    trim_jsonl(log, 4)
    with open(log, "a") as f:   # the resumed run appends
        f.write('{"step": 6}\n')
    lines = log.read_text().splitlines()
    assert [json.loads(ln)["step"] for ln in lines] == [2, 4, 6]
    trim_jsonl(tmp_path / "absent.jsonl", 4)   # no log yet: nothing to do
    assert not (tmp_path / "absent.jsonl").exists()


def test_append_jsonl_adds_one_line_per_record_on_the_writing_rank(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    append_jsonl(path, {"step": 1, "loss": 0.5})
    append_jsonl(path, {"step": 2, "val": {"mIoU": 10.0}}, enabled=True)
    append_jsonl(path, {"step": 3}, enabled=False)
    assert path.read_text() == '{"step": 1, "loss": 0.5}\n{"step": 2, "val": {"mIoU": 10.0}}\n'
