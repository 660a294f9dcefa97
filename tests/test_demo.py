"""`make demo` end to end at minimal size (scripts/demo.py --quick): every stage runs for real,
the replay goes through segmentation_node over DDS on loopback, and the outputs are complete."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.ros
@pytest.mark.timeout(420)
def test_quick_demo_produces_reports_strip_and_summary(tmp_path: Path):
    out = tmp_path / "demo"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}  # conftest put DDS on loopback with its own domain
    run = subprocess.run([sys.executable, str(REPO / "scripts" / "demo.py"), "--quick", "--out", str(out)],
                         env=env, cwd=REPO, capture_output=True, text=True, timeout=400)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]

    commands = (out / "commands.sh").read_text()
    for cmd in ("generate-scenes", "make-drive-bag", "train-dsanet", "rainify", "train-segmenter",
                "export onnx", "export verify", "replay_eval"):
        assert cmd in commands
    assert f"ROS_DOMAIN_ID=${{ROS_DOMAIN_ID:-{os.environ['ROS_DOMAIN_ID']}}}" in commands

    frames = len(list((out / "drive_frames").glob("*.png")))
    for name in ("clean", "rain"):
        report = json.loads((out / f"replay_{name}" / "report.json").read_text())
        assert (out / f"replay_{name}" / "report.md").is_file()
        assert (out / f"replay_{name}" / "latency.png").is_file()
        assert (out / f"replay_{name}" / "masks_bag").is_dir()
        assert (out / "models" / f"erf-pspnet_{name}.onnx").is_file()
        miou = report["scores"]["miou"]
        assert isinstance(miou, float) and 0.0 <= miou <= 1.0 and not math.isnan(miou)
        assert report["run"]["frames_sent"] == frames
        assert report["scores"]["frames_scored"] >= 1

    strip = np.asarray(Image.open(out / "overlay_strip.png"))
    assert strip.shape[1] == 4 * 256 and strip.shape[0] > 128  # 4 panels of 128x256 per row
    summary = json.loads((out / "summary.json").read_text())
    assert isinstance(summary["miou_clean"], float) and isinstance(summary["miou_rain"], float)
    text = (out / "summary.md").read_text()
    assert f"{100 * summary['miou_clean']:.1f}" in text and f"{100 * summary['miou_rain']:.1f}" in text
    assert ("beats" in text) != ("does not beat" in text)
