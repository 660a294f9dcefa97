"""The experiment's last stage: a procedural night drive replayed through `segmentation_node`
with the DANNet export and the source-only export (mIoU, latency, frames answered).

Each step is the project's own command run as a subprocess, as a user would type it (the
export and the ROS runtime are downstream of training, so training does not import them):
    python -m training make-drive-bag --condition night ...
    python -m export onnx --checkpoint RUN --out OUT/export/NAME.onnx
    python -m rain_seg_ros.replay.replay_eval BAG --model OUT/export/NAME.onnx --rate 0 ...
DDS stays on loopback (ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST, ROS_LOCALHOST_ONLY=1) in a
domain of its own unless the caller set one.

Example:
    results = replay_night_drive(out, {"source_only": run_a, "full": run_b}, size=(64, 128), frames=50)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

IMAGE_TOPIC, GT_TOPIC = "/camera/image_raw", "/camera/gt_mask"


def _run(args: list[str], env: dict[str, str]) -> None:
    result = subprocess.run([sys.executable, "-m", *args], env=env, check=False, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        tail = result.stdout.strip().splitlines()[-1:] or [""]
        raise RuntimeError(f"`python -m {' '.join(args)}` failed (exit {result.returncode}): {tail[0]}")


def replay_night_drive(out: Path, runs: dict[str, Path], *, size: tuple[int, int], frames: int,
                       seed: int = 0) -> dict[str, dict[str, Any]]:
    """Replay one night drive per model; returns per name mIoU (%), latency (ms) and frames."""
    env = dict(os.environ)
    env.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    env.setdefault("ROS_LOCALHOST_ONLY", "1")
    env.setdefault("ROS_DOMAIN_ID", str(100 + os.getpid() % 90))
    bag = out / "night_bag"
    if not (bag / "metadata.yaml").is_file():
        shutil.rmtree(bag, ignore_errors=True)
        _run(["training", "make-drive-bag", "--out", str(bag), "--frames", str(frames),
              "--size", f"{size[0]}x{size[1]}", "--seed", str(seed), "--condition", "night"], env)
    results: dict[str, dict[str, Any]] = {}
    for name, run in runs.items():
        model = out / "export" / f"{name}.onnx"
        if not model.is_file():
            _run(["export", "onnx", "--checkpoint", str(run), "--out", str(model)], env)
        report_dir = out / f"replay_{name}"
        if not (report_dir / "report.json").is_file():
            shutil.rmtree(report_dir, ignore_errors=True)   # replay_eval refuses to overwrite its bag
            _run(["rain_seg_ros.replay.replay_eval", str(bag), "--image-topic", IMAGE_TOPIC,
                  "--gt-topic", GT_TOPIC, "--model", str(model), "--backend", "onnxruntime",
                  "--rate", "0", "--out", str(report_dir)], env)
        report = json.loads((report_dir / "report.json").read_text())
        miou = report.get("scores", {}).get("miou")
        results[name] = {"mIoU": None if miou is None else 100.0 * miou,
                         "latency_ms_p50": report["latency_ms"]["p50"],
                         "latency_ms_p95": report["latency_ms"]["p95"],
                         "frames_sent": report["run"]["frames_sent"],
                         "masks_received": report["run"]["masks_received"],
                         "report": str(report_dir / "report.md")}
    return results
