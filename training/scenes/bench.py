"""Speed of the scene generator, single process, stage by stage.

Example:
    python -m training.scenes.bench --count 20 --size 256x512

Prints one JSON object: per-stage milliseconds per sample (wall clock and CPU time of this
process; on a shared machine CPU time is the steadier figure) and scenes per second.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from training.scenes.layout import sample_layout
from training.scenes.night import render_night
from training.scenes.rain import render_rain
from training.scenes.render import render_scene
from training.scenes.sample import SceneSpec, generate_sample
from training.scenes.writer import write_sample


class _Clock:
    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    def add(self, name: str, wall: float, cpu: float) -> None:
        self.wall[name] = self.wall.get(name, 0.0) + wall
        self.cpu[name] = self.cpu.get(name, 0.0) + cpu


def _timed(clock: _Clock, name: str, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    w, c = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    clock.add(name, time.perf_counter() - w, time.process_time() - c)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--count", type=int, default=20)
    p.add_argument("--size", default="256x512")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    hgt, wid = (int(v) for v in args.size.lower().split("x"))
    generate_sample(args.seed, 10_000, SceneSpec(hgt, wid, night=True))  # warm-up (imports, caches)

    clock = _Clock()
    for i in range(args.count):
        seq = np.random.SeedSequence([args.seed, i])
        layout_ss, texture_ss, rain_ss, night_ss = seq.spawn(4)
        layout = _timed(clock, "layout", sample_layout, np.random.default_rng(layout_ss), hgt, wid)
        scene = _timed(clock, "render_clean", render_scene, layout, np.random.default_rng(texture_ss))
        _timed(
            clock,
            "rain",
            render_rain,
            scene.image,
            scene.depth,
            0.7,
            np.random.default_rng(rain_ss),
            ground_mask=scene.ground,
            focal_px=layout.camera.focal_px,
        )
        _timed(
            clock,
            "night",
            render_night,
            scene.image,
            scene.depth,
            np.random.default_rng(night_ss),
            emissive=scene.emissive,
            lights=scene.lights,
            focal_px=layout.camera.focal_px,
            principal_point=(layout.camera.cx, layout.camera.cy),
        )
    with tempfile.TemporaryDirectory() as tmp:
        spec = SceneSpec(hgt, wid, night=True)
        for i in range(args.count):
            sample = _timed(clock, "sample_total", generate_sample, args.seed, i, spec)
            _timed(
                clock,
                "write_pngs",
                write_sample,
                Path(tmp),
                sample,
                split="train",
                k=i + 1,
                seed=args.seed,
                lens_drops=False,
            )
    n = args.count
    triple = ("layout", "render_clean", "rain", "night")
    wall = {k: round(v / n * 1000, 2) for k, v in clock.wall.items()}
    cpu = {k: round(v / n * 1000, 2) for k, v in clock.cpu.items()}
    wall["triple"] = round(sum(wall[k] for k in triple), 2)
    cpu["triple"] = round(sum(cpu[k] for k in triple), 2)
    per_scene_cpu = (clock.cpu["sample_total"] + clock.cpu["write_pngs"]) / n
    per_scene_wall = (clock.wall["sample_total"] + clock.wall["write_pngs"]) / n
    print(
        json.dumps(
            {
                "size": [hgt, wid],
                "count": n,
                "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, "
                f"{platform.python_implementation()} {platform.python_version()}",
                "ms_per_sample_wall": wall,
                "ms_per_sample_cpu": cpu,
                "scenes_per_s_with_writing_wall": round(1 / per_scene_wall, 2),
                "scenes_per_s_with_writing_cpu": round(1 / per_scene_cpu, 2),
                "triples_per_s_cpu": round(1000 / cpu["triple"], 2),
            },
            indent=1,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
