"""`python -m training evaluate-images` — PSNR / SSIM of restored images against references.

Pairs files by the rules of training/metrics/files.py: the same stem; a stem followed by
"_", "-" or "." (Rain1400's `1_1.jpg` .. `1_14.jpg` share `1.jpg`); or Rain100H/L's names
(`rain-12.png` and the release's `norain-12x2.png` against `norain-12.png`). A file left
unmatched on either side, or a reference claimed twice, is an error that lists the names:
a mean over the wrong pairs is worse than no number. Each pair is scored on the 0..255 scale
with training/metrics/restoration.py and the means over pairs are printed as JSON on stdout.
`--y-channel` scores the BT.601 Y channel (the deraining papers' convention), otherwise RGB
(SSIM averaged over the three channels). Identical pairs have infinite PSNR: they are counted
in `num_identical` and left out of the PSNR mean (the SSIM mean keeps them, at 1.0).

Example (the procedural rain pairs: rainy input vs clean reference):
    python -m training generate-scenes --out /tmp/scenes --count 4 --size 128x256 --seed 0
    python -m training evaluate-images --pred /tmp/scenes/rain_pairs/val/rain \\
        --gt /tmp/scenes/rain_pairs/val/norain --y-channel
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from training.metrics.files import (
    IMAGE_EXTENSIONS,
    MATCH_MODES,
    describe_unmatched,
    list_files,
    match_files,
    read_rgb_image,
)
from training.metrics.restoration import psnr, ssim


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m training evaluate-images", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pred", required=True, type=Path, help="folder of restored (or degraded) images")
    p.add_argument("--gt", required=True, type=Path, help="folder of reference images")
    p.add_argument("--y-channel", action="store_true", help="score the Y channel of YCbCr (BT.601)")
    p.add_argument("--match", choices=MATCH_MODES, default="auto",
                   help="pair by stem then Rain100 names (auto), by one of them, or by the last "
                        "number in the name (number: only when the names carry nothing else)")
    p.add_argument("--gt-suffix", default="", help="stripped from reference stems before matching")
    p.add_argument("--pred-suffix", default=None,
                   help="only predictions whose stem ends with this, matched exactly after removing it")
    p.add_argument("--per-image", action="store_true", help="also list each pair's scores")
    return p


def evaluate(args: argparse.Namespace) -> dict[str, Any]:
    gt_files = list_files(args.gt, IMAGE_EXTENSIONS)
    pred_files = list_files(args.pred, IMAGE_EXTENSIONS)
    matching = match_files(pred_files, gt_files, gt_suffix=args.gt_suffix,
                           pred_suffix=args.pred_suffix, mode=args.match, shared_gt=True)
    if not matching.pairs:
        raise ValueError(f"no image in {args.pred} ({len(pred_files)} files) matches one in {args.gt} "
                         f"({len(gt_files)} files); check --match / --gt-suffix / --pred-suffix")
    unmatched = [describe_unmatched(files, side) for files, side in
                 ((matching.unmatched_pred, "prediction"), (matching.unmatched_gt, "reference")) if files]
    if unmatched:
        raise ValueError("; ".join(unmatched) + " (pairing rules: docs/metrics.md; "
                         "--pred-suffix / --gt-suffix select the files that count)")

    per_image: list[dict[str, Any]] = []
    for pred_path, gt_path in tqdm(matching.pairs, desc="evaluate-images", unit="img", file=sys.stderr):
        pred, gt = read_rgb_image(pred_path), read_rgb_image(gt_path)
        if pred.shape != gt.shape:
            raise ValueError(f"{pred_path} is {pred.shape[1]}x{pred.shape[0]} but {gt_path} is "
                             f"{gt.shape[1]}x{gt.shape[0]}")
        per_image.append({"pred": str(pred_path), "gt": str(gt_path),
                          "psnr": psnr(pred, gt, y_channel=args.y_channel),
                          "ssim": ssim(pred, gt, y_channel=args.y_channel)})

    finite = [r["psnr"] for r in per_image if math.isfinite(r["psnr"])]
    result: dict[str, Any] = {
        "psnr": float(np.mean(finite)) if finite else None,
        "ssim": float(np.mean([r["ssim"] for r in per_image])),
        "num_images": len(per_image),
        "num_identical": len(per_image) - len(finite),
        "y_channel": bool(args.y_channel),
        "matched_by": matching.mode,
    }
    if args.per_image:
        result["per_image"] = [{**r, "psnr": r["psnr"] if math.isfinite(r["psnr"]) else None}
                               for r in per_image]
    return result


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result = evaluate(args)
    except (ValueError, FileNotFoundError) as e:
        print(f"evaluate-images: error: {e}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
