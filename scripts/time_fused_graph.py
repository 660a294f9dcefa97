"""ONNX Runtime timing, interleaved in one process: F then the segmenter (two sessions, as
weather_node -> segmentation_node run them) against the fused F->segmenter graph (one session).

    .venv/bin/python scripts/time_fused_graph.py runs/nd/night2day.onnx runs/nd/seg_baseline.onnx \
        runs/nd/fused.onnx
"""

from __future__ import annotations

import sys
import time

import numpy as np
import onnxruntime as ort


def random_feed(session: ort.InferenceSession) -> dict[str, np.ndarray]:
    spec = session.get_inputs()[0]
    shape = [d if isinstance(d, int) else 1 for d in spec.shape]
    rng = np.random.default_rng(0)
    if "uint8" in spec.type:
        return {spec.name: rng.integers(0, 256, shape).astype(np.uint8)}
    return {spec.name: rng.random(shape, dtype=np.float32)}


def main(paths: list[str], runs: int = 100) -> None:
    names = ("F", "segmenter", "fused")
    sessions = {n: ort.InferenceSession(p, providers=["CPUExecutionProvider"]) for n, p in zip(names, paths)}
    feeds = {n: random_feed(s) for n, s in sessions.items()}
    times: dict[str, list[float]] = {n: [] for n in names}
    for i in range(runs + 3):  # 3 warm-up rounds
        for n, s in sessions.items():  # interleaved: machine load hits all three alike
            start = time.perf_counter()
            s.run(None, feeds[n])
            if i >= 3:
                times[n].append((time.perf_counter() - start) * 1000)
    for n, v in times.items():
        print(f"{n}: median {np.median(v):.2f} ms, p95 {np.percentile(v, 95):.2f} ms over {runs} runs")


if __name__ == "__main__":
    main(sys.argv[1:4])
