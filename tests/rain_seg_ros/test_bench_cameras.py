"""`python -m rain_seg_ros.bench_cameras` at a tiny size: real processes, DDS on loopback, files written."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import rain_seg_ros.bench
from rain_seg_ros.bench_cameras import main, write_tiny_segmenter
from rain_seg_ros.segmenter import Segmenter

pytestmark = pytest.mark.ros


def test_tiny_segmenter_batches_like_single_frames(tmp_path):
    model = write_tiny_segmenter(tmp_path / "tiny.onnx", 16, 24)
    frames = [np.random.default_rng(k).integers(0, 256, (16, 24, 3), dtype=np.uint8) for k in range(3)]
    with Segmenter(model, backend="onnxruntime", device="cpu") as seg:
        assert seg.artifact.dynamic_batch
        batched = seg.segment_batch(frames)
        for frame, result in zip(frames, batched):
            np.testing.assert_array_equal(result.mask, seg.segment(frame).mask)


def test_two_cameras_one_node_and_per_camera_write_the_table(tmp_path, monkeypatch):
    # machine_facts is tested with the inference benchmark; here it would only add a torch import (~5 s)
    monkeypatch.setattr(rain_seg_ros.bench, "machine_facts", lambda: {"cpu": "test"})
    domain = os.environ["ROS_DOMAIN_ID"]  # this test process's own (tests/conftest.py)
    argv = ["--cameras", "2", "--size", "32x48", "--rate-hz", "10", "--duration-s", "1.5", "--warmup-s",
            "0.3", "--domain-id", domain, "--out-dir", str(tmp_path), "--name", "cams", "--note", "test run"]
    assert main(argv) == 0
    assert os.environ["ROS_DOMAIN_ID"] == domain
    data = json.loads((tmp_path / "cams.json").read_text())
    rows = {r["layout"]: r for r in data["rows"]}
    assert set(rows) == {"one-node", "per-camera"}
    assert (rows["one-node"]["processes"], rows["per-camera"]["processes"]) == (1, 2)
    for row in rows.values():
        assert row["cameras"] == 2 and row["offered_fps"] == 20.0
        assert 0.25 * 20 <= row["fps"] <= 1.5 * 20, row  # masks of both cameras came back at about the rate
        assert 0 < row["latency_p50_ms"] <= row["latency_p95_ms"] < 2000, row
    assert data["machine"]["frame"] == "32x48 rgb8" and data["machine"]["note"] == "test run"
    assert "dynamic batch" in data["machine"]["model"]
    table = (tmp_path / "cams.md").read_text()
    assert "| 2 | one-node | 1 | 20.0 |" in table and "| 2 | per-camera | 2 | 20.0 |" in table
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cams.json", "cams.md"]  # no model or logs left


def test_bad_arguments_are_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--model", str(tmp_path / "missing.onnx"), "--out-dir", str(tmp_path)])
    assert "--model" in capsys.readouterr().err.splitlines()[-1]
