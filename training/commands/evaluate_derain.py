"""PSNR / SSIM (RGB and Y channel) of DSANet deraining on a rain-pair dataset, as JSON.

Example:
    python -m training evaluate-derain --dsanet runs/dsanet_synth --dataset rain100h \
        --root /tmp/scenes --split test

Prints {"derained": {psnr_rgb, ssim_rgb, psnr_y, ssim_y}, "rainy_input": {...}, ...}; the
rainy-input scores are the baseline deraining has to beat. --out also writes it to a file.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training evaluate-derain", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dsanet", required=True, help="DSANet checkpoint (run dir, step dir or file)")
    parser.add_argument("--dataset", required=True, help="pair dataset name (rain100h, rain100l, "
                        "rain1200, test100, spa, paired_folder, ...)")
    parser.add_argument("--root", required=True, help="dataset root")
    parser.add_argument("--split", default="test")
    parser.add_argument("--limit", type=int, default=None, help="score only the first N pairs")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", help="also write the JSON here")
    args = parser.parse_args(argv)

    from training.data import build_dataset
    from training.dsanet.api import DSANet
    from training.dsanet.evaluate import evaluate_derain

    net = DSANet.from_checkpoint(args.dsanet, device=args.device)
    pairs = build_dataset(args.dataset, args.root, args.split)
    result = {"dataset": args.dataset, "root": args.root, "split": args.split, "checkpoint": net.source,
              **evaluate_derain(net, pairs, limit=args.limit)}
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n")
    return 0
