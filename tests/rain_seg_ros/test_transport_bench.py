"""python -m rain_seg_ros.bench_transport at a tiny scale: real publisher and subscriber
processes over DDS on loopback, profile off and on, table and JSON written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rain_seg_ros.bench_transport import summarise

ROOT = Path(__file__).resolve().parents[2]


def test_summary_counts_only_measured_frames_and_their_losses():
    # 5 warm-up frames (0-4), then 20 measured (5-24). The subscriber saw warm-up frame 2 (not
    # counted) and every measured frame but 7 and 20, frame i after i - 4 ms.
    received = [(2, 99.0)] + [(i, float(i - 4)) for i in range(5, 25) if i not in (7, 20)]
    row = summarise("on", "reliable", (64, 32), sent=25, warmup=5, received=received)
    assert (row.sent, row.received, row.lost) == (20, 18, 2)
    latencies = sorted(i - 4 for i in range(5, 25) if i not in (7, 20))  # 1..20 without 3 and 16
    assert latencies[8] == 10 and row.p50_ms == 10.5  # mean of the 9th and 10th of 18: 10 and 11
    # p95 by linear interpolation: rank 0.95 * 17 = 16.15 between 19 and 20
    assert row.p95_ms == round(19 + 0.15 * (20 - 19), 1)


def test_no_frame_received_gives_no_percentiles():
    row = summarise("off", "best_effort", (1024, 512), sent=25, warmup=5, received=[])
    assert (row.lost, row.p50_ms, row.p95_ms) == (20, None, None)


@pytest.mark.ros
@pytest.mark.timeout(120)
def test_bench_runs_profile_off_and_on_and_writes_the_table(tmp_path: Path):
    pytest.importorskip("rclpy")
    out = tmp_path / "transport.md"
    # 1024x512 rgb8 (1.5 MiB) best effort: FastDDS's 512 KiB default segment drops ~every
    # frame, the shipped 64 MiB profile none.
    cmd = [sys.executable, "-m", "rain_seg_ros.bench_transport", "--sizes", "1024x512",
           "--qos", "best_effort", "--profiles", "off", "on", "--frames", "20", "--warmup", "5",
           "--out", str(out)]
    run = subprocess.run(cmd, cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=110)
    assert run.returncode == 0, run.stderr[-2000:]
    rows = {r["profile"]: r for r in json.loads(out.with_suffix(".json").read_text())["rows"]}
    assert rows["on"]["sent"] == rows["off"]["sent"] == 20
    assert rows["on"]["lost"] <= 2 and rows["on"]["p50_ms"] > 0
    assert rows["off"]["lost"] > rows["on"]["lost"]
    table = out.read_text()
    for profile in ("off", "on"):
        assert f"| {profile} | best_effort | 1024×512 | 20 | {rows[profile]['lost']} |" in table
    assert "loadavg_before" in table and "cpu" in table
