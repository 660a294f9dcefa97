"""`make demo`: the project's end-to-end run on a 2-core CPU, at toy sizes.

Each stage is a real command of the project, run as a subprocess exactly as a user would type it;
the command lines are printed and collected in out/demo/commands.sh so any step can be re-run.

Example:
    .venv/bin/python scripts/demo.py --out out/demo
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

PY = sys.executable


class Demo:
    """Runs and records the demo's commands."""

    def __init__(self, out: Path):
        self.out = out
        self.out.mkdir(parents=True, exist_ok=True)
        self.log = out / "commands.sh"
        self.log.write_text("#!/usr/bin/env bash\n# Commands run by `make demo`, in order.\nset -e\n")
        self.summary: dict[str, object] = {}

    def run(self, title: str, args: list[str], capture_json: bool = False) -> dict | None:
        cmd = [PY, "-m", *args]
        line = " ".join(shlex.quote(c) for c in ["python", "-m", *args])
        print(f"\n=== {title}\n$ {line}", flush=True)
        with self.log.open("a") as f:
            f.write(f"# {title}\n{line}\n")
        start = time.perf_counter()
        result = subprocess.run(cmd, check=False, text=True,
                                stdout=subprocess.PIPE if capture_json else None)
        if result.returncode != 0:
            raise SystemExit(f"demo stage failed ({title}): exit {result.returncode}")
        print(f"--- {title}: {time.perf_counter() - start:.1f} s", flush=True)
        if capture_json:
            data = json.loads(result.stdout)
            print(json.dumps(data, indent=1)[:1500])
            return data
        return None


def stage_scenes(demo: Demo, count: int, size: str) -> Path:
    scenes = demo.out / "scenes"
    demo.run("procedural driving scenes: clean / rain / night twins with labels and depth",
             ["training", "generate-scenes", "--out", str(scenes), "--count", str(count),
              "--size", size, "--seed", "0", "--splits", "train=0.75,val=0.125,test=0.125",
              "--rain-intensity", "0.4,1.0", "--night", "--overwrite", "--workers", "2"])
    demo.run("contact sheet of generated samples",
             ["training.scenes.contact_sheet", "--out", str(demo.out / "scenes_contact_sheet.png")])
    info = demo.run("dataset check: the Cityscapes reader on the generated rainy split",
                    ["training", "dataset-info", "--dataset", "cityscapes", "--root", str(scenes),
                     "--split", "train", "--opt", "variant=rain"], capture_json=True)
    demo.summary["train_samples"] = info["num_samples"] if info else None
    pairs = demo.run("how much the rendered rain degrades the images (rainy vs clean, Y channel)",
                     ["training", "evaluate-images", "--pred", str(scenes / "rain_pairs" / "test" / "rain"),
                      "--gt", str(scenes / "rain_pairs" / "test" / "norain"), "--y-channel"],
                     capture_json=True)
    demo.summary["rainy_vs_clean_test"] = pairs
    return scenes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("out/demo"))
    parser.add_argument("--count", type=int, default=32, help="procedural scenes to generate")
    parser.add_argument("--size", default="128x256", help="scene size HxW")
    args = parser.parse_args(argv)
    demo = Demo(args.out)
    start = time.perf_counter()
    stage_scenes(demo, args.count, args.size)
    demo.summary["wall_s"] = round(time.perf_counter() - start, 1)
    (args.out / "summary.json").write_text(json.dumps(demo.summary, indent=2))
    print(f"\nDemo finished in {demo.summary['wall_s']} s. Outputs in {args.out}/ "
          f"(commands.sh re-runs every step).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
