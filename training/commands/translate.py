"""Day->night or night->day copies of a labelled dataset with a trained CycleGAN (labels copied).

Example:
    python -m training translate --cyclegan runs/cyclegan_synth --direction day2night \
        --images /tmp/scenes/cityscapes --out /tmp/scenes_night_gan --count 200 --seed 0

The output has the input's layout (Cityscapes: leftImg8bit translated, gtFine copied; KITTI:
image_2; folder: images/) plus translate_manifest.jsonl (source -> output, direction,
checkpoint). Re-running the same command resumes: finished files are skipped.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training translate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cyclegan", required=True, help="CycleGAN checkpoint (run dir, step dir or file)")
    parser.add_argument("--direction", required=True, choices=("day2night", "night2day"))
    parser.add_argument("--images", required=True, help="dataset root (Cityscapes, KITTI or images/ layout)")
    parser.add_argument("--out", required=True, help="output root (same layout as --images)")
    parser.add_argument("--count", type=int, default=None, help="translate N images chosen by --seed "
                        "(default: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.count is not None and args.count < 1:
        parser.error(f"--count must be >= 1, got {args.count}")

    from training.cyclegan.translate import load_translator, translate_dataset

    translator = load_translator(args.cyclegan, args.direction, device=args.device)
    counts = translate_dataset(translator, Path(args.images), Path(args.out), count=args.count,
                               seed=args.seed, progress=not args.quiet)
    print(json.dumps(counts | {"direction": args.direction, "out": args.out}))
    return 0
