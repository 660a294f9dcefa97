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
                "train-condition", "export onnx", "export verify", "replay_eval", "--condition-model"):
        assert cmd in commands
    assert "--conditions clear:4,rain:4,night:4" in commands and "variant: night" in commands
    assert f"ROS_DOMAIN_ID=${{ROS_DOMAIN_ID:-{os.environ['ROS_DOMAIN_ID']}}}" in commands

    frames = len(list((out / "drive_frames").glob("*.png")))
    assert frames == 12
    for name in ("clean", "rain", "night", "switching"):
        report = json.loads((out / f"replay_{name}" / "report.json").read_text())
        assert (out / f"replay_{name}" / "report.md").is_file()
        assert (out / f"replay_{name}" / "latency.png").is_file()
        assert (out / f"replay_{name}" / "masks_bag").is_dir()
        miou = report["scores"]["miou"]
        assert isinstance(miou, float) and 0.0 <= miou <= 1.0 and not math.isnan(miou)
        assert report["run"]["frames_sent"] == frames
        assert report["scores"]["frames_scored"] >= 1
        assert report["conditions"]["true_conditions"] == {"clear": 4, "rain": 4, "night": 4}
    for name in ("erf-pspnet_clean", "erf-pspnet_rain", "erf-pspnet_night", "condition"):
        assert (out / "models" / f"{name}.onnx").is_file()
    published = json.loads((out / "replay_switching" / "report.json").read_text())["conditions"]["published"]
    assert len(published) == frames and {p["active_model"] for p in published} <= {"default", "rain", "night"}

    strip = np.asarray(Image.open(out / "overlay_strip.png"))
    # a header, then per condition a caption bar (16 px) over 6 panels of 128x256
    assert strip.shape[:2] == (18 + 3 * (16 + 128), 6 * 256)
    summary = json.loads((out / "summary.json").read_text())
    text = (out / "summary.md").read_text()
    for name in ("clean", "rain", "night", "switching"):
        assert isinstance(summary[f"miou_{name}"], float) and f"{100 * summary[f'miou_{name}']:.1f}" in text
    rainy = summary["miou_per_condition_rain"]["rain"] - summary["miou_per_condition_clean"]["rain"]
    assert f"on the rain part ({100 * rainy:+.1f} mIoU points)" in text
