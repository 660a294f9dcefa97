"""Per-frame cost of LabelVoteSmoother.update (the node's smoothing_mean_ms) for flow settings at
camera sizes, on a panning textured frame with noisy labels, OpenCV on --threads threads (1: a
shared CPU). Writes a markdown table to stdout or --out.

    python scripts/smoothing_bench.py --sizes 128x256,512x1024 \\
        --flows off,farneback@64,farneback@128,dis_ultrafast@128,dis_fast@128,dis_fast@256
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))


def frames(h: int, w: int, n: int, step: int = 4) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """n frames of a blurred random texture panning `step` px a frame: (rgb, ids, confidence)."""
    rng = np.random.default_rng(0)
    texture = cv2.GaussianBlur(rng.integers(0, 256, (h, w + step * n)).astype(np.float32), (0, 0), 4)
    texture = cv2.normalize(texture, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    out = []
    for i in range(n):
        grey = np.ascontiguousarray(texture[:, step * i:step * i + w])
        ids = (grey // 32).astype(np.uint8)                       # 8 classes that move with the image
        conf = rng.integers(60, 256, (h, w)).astype(np.uint8)     # a spread of confidences
        out.append((np.dstack([grey] * 3), ids, conf))
    return out


def bench(size: tuple[int, int], flow: tuple[str, int] | None, keep_below: float, n: int) -> float:
    """Median ms per update over n frames (the first, which only fills the state, left out)."""
    from rain_seg_ros.smoothing import LabelVoteSmoother

    smoother = LabelVoteSmoother(0.7, 255.0, flow is not None, keep_below, *(flow or ()))
    times = []
    for rgb, ids, conf in frames(*size, n + 1):
        t0 = time.perf_counter()
        smoother.update(rgb, ids, conf)
        times.append(time.perf_counter() - t0)
    return 1000 * float(np.median(times[1:]))


def main(argv: list[str] | None = None) -> int:
    from smoothing_sweep import flow_name, parse_flows

    from training.commands.generate_scenes import parse_size

    p = argparse.ArgumentParser(prog="smoothing_bench", description=__doc__.split("\n")[0])
    p.add_argument("--sizes", type=lambda t: [parse_size(s) for s in t.split(",")], default=[(128, 256)])
    p.add_argument("--flows", type=parse_flows, default=[None])
    p.add_argument("--keep-below", type=float, default=0.5)
    p.add_argument("--frames", type=int, default=30)
    p.add_argument("--threads", type=int, default=1, help="cv2.setNumThreads")
    p.add_argument("--out", type=Path)
    opts = p.parse_args(argv)
    cv2.setNumThreads(opts.threads)
    sizes = [f"{h}x{w}" for h, w in opts.sizes]
    lines = [f"Smoothing ms per frame (median of {opts.frames}, {opts.threads} OpenCV thread(s), "
             f"keep_below {opts.keep_below})",
             "", "| flow | " + " | ".join(sizes) + " |", "|---|" + "---:|" * len(sizes)]
    for flow in opts.flows:
        ms = [bench(size, flow, opts.keep_below, opts.frames) for size in opts.sizes]
        lines.append(f"| {flow_name(flow)} | " + " | ".join(f"{m:.2f}" for m in ms) + " |")
    text = "\n".join(lines) + "\n"
    if opts.out:
        opts.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
