"""`python -m training generate-scenes` — procedural street scenes with clean/rain/night twins.

Writes Cityscapes-layout images and labels (clean, rainy and optional night twins with
identical geometry), uint16 depth PNGs, Rain100H-style rain/norain pairs and a manifest.
Same flags and seed -> byte-identical files; sample i depends only on (seed, i).

Example:
    python -m training generate-scenes --out /tmp/scenes --count 20 --size 256x512 --seed 0 \\
        --splits train=0.8,val=0.1,test=0.1 --rain-intensity 0.3,1.0 --night --lens-drops --workers 2
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from training.scenes.sample import SceneSpec, generate_sample
from training.scenes.writer import MANAGED, SPLITS, write_sample


def parse_size(text: str) -> tuple[int, int]:
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise argparse.ArgumentTypeError(f"size must be HxW, e.g. 256x512, got {text!r}")
    h, w = int(parts[0]), int(parts[1])
    if h < 32 or w < 32:
        raise argparse.ArgumentTypeError(f"size must be at least 32x32, got {text!r}")
    return h, w


def parse_intensity(text: str) -> tuple[float, float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"rain intensity must be a number or LO,HI, got {text!r}") from None
    if len(values) not in (1, 2) or not all(0.0 <= v <= 1.0 for v in values):
        raise argparse.ArgumentTypeError(f"rain intensity must be one value or LO,HI in [0, 1], got {text!r}")
    lo, hi = values[0], values[-1]
    if lo > hi:
        raise argparse.ArgumentTypeError(f"rain intensity range LO,HI needs LO <= HI, got {text!r}")
    return lo, hi


def split_counts(text: str, count: int) -> dict[str, int]:
    """`train=0.8,val=0.1,test=0.1` (fractions summing to 1) or `train=16,val=2,test=2`
    (integer counts summing to --count). Rounded fractions; the largest split absorbs the rest."""
    spec: dict[str, str] = {}
    for item in filter(None, text.split(",")):
        name, sep, value = item.partition("=")
        if not sep or name.strip() not in SPLITS:
            raise ValueError(f"--splits items must be NAME=VALUE with NAME in {SPLITS}, got {item!r}")
        spec[name.strip()] = value.strip()
    try:
        nums = {k: float(v) for k, v in spec.items()}
    except ValueError:
        raise ValueError(f"--splits values must be numbers, got {text!r}") from None
    if any(v < 0 for v in nums.values()):
        raise ValueError(f"--splits values must be >= 0, got {text!r}")
    if all(v.isdigit() for v in spec.values()) and sum(int(v) for v in spec.values()) == count:
        return {s: int(spec.get(s, "0")) for s in SPLITS}
    if abs(sum(nums.values()) - 1.0) > 1e-6:
        raise ValueError(
            f"--splits must be fractions summing to 1 or counts summing to --count={count}, got {text!r}"
        )
    sizes = {s: round(nums.get(s, 0.0) * count) for s in SPLITS}
    # Rounding leftovers go to the largest requested split, so the sizes sum to --count.
    largest = max(SPLITS, key=lambda s: nums.get(s, 0.0))
    sizes[largest] += count - sum(sizes.values())
    return sizes


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m training generate-scenes",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", type=Path, required=True, help="output directory")
    p.add_argument("--count", type=int, default=16, help="number of scenes (>= 1)")
    p.add_argument("--size", type=parse_size, default=(256, 512), help="HxW, e.g. 256x512")
    p.add_argument("--seed", type=int, default=0, help="run seed; sample i uses SeedSequence([seed, i])")
    p.add_argument(
        "--splits",
        default="train=0.8,val=0.1,test=0.1",
        help="fractions (train=0.8,val=0.1,test=0.1) or counts (train=8,val=1,test=1)",
    )
    p.add_argument(
        "--rain-intensity",
        type=parse_intensity,
        default=(0.3, 1.0),
        help="rain intensity in [0,1]: one value, or LO,HI drawn per sample",
    )
    p.add_argument("--night", action="store_true", help="also write night twins (cityscapes_night/)")
    p.add_argument("--lens-drops", action="store_true", help="add water drops on the lens to rainy images")
    p.add_argument(
        "--workers", type=int, default=1, help="worker processes (output is identical for any value)"
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing generated dataset in --out")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def _job(args: tuple[Path, int, int, str, int, SceneSpec]) -> dict[str, Any]:
    out, seed, index, split, k, spec = args
    return write_sample(
        out, generate_sample(seed, index, spec), split=split, k=k, seed=seed, lens_drops=spec.lens_drops
    )


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error(f"--count must be >= 1, got {args.count}")
    if args.workers < 1:
        parser.error(f"--workers must be >= 1, got {args.workers}")
    try:
        counts = split_counts(args.splits, args.count)
    except ValueError as exc:
        parser.error(str(exc))
    out: Path = args.out
    if (out / "manifest.jsonl").exists():
        if not args.overwrite:
            parser.error(f"{out} already holds a generated dataset (manifest.jsonl); pass --overwrite")
        for name in MANAGED:
            target = out / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
    out.mkdir(parents=True, exist_ok=True)

    spec = SceneSpec(args.size[0], args.size[1], args.rain_intensity, args.night, args.lens_drops)
    jobs, index = [], 0
    for split in SPLITS:
        for k in range(1, counts[split] + 1):
            jobs.append((out, args.seed, index, split, k, spec))
            index += 1
    start = time.perf_counter()
    bar = tqdm(total=len(jobs), desc="generate-scenes", unit="scene", disable=args.quiet)
    records = []
    if args.workers == 1:
        for job in jobs:
            records.append(_job(job))
            bar.update()
    else:
        with multiprocessing.get_context("spawn").Pool(args.workers) as pool:
            for rec in pool.imap(_job, jobs, chunksize=4):
                records.append(rec)
                bar.update()
    bar.close()
    with open(out / "manifest.jsonl", "w") as fh:  # written last, in index order: it marks a complete run
        for rec in records:
            fh.write(json.dumps(rec, sort_keys=True) + "\n")
    elapsed = time.perf_counter() - start
    print(
        json.dumps(
            {
                "out": str(out),
                "count": len(records),
                "splits": counts,
                "seconds": round(elapsed, 2),
                "scenes_per_s": round(len(records) / elapsed, 2),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
