"""Score a mask restorer: pixel accuracy, mIoU, FID and FCN-score, with the reference rows
"fine" (synthesis from the real fine mask) and "incomplete" (no restoration). JSON out.

Example:
    python -m training evaluate-mask-restorer --restorer runs/restorer_sparse \
        --data /tmp/scenes --split val --segmenter runs/segmenter_fine --out runs/restorer_sparse/eval.json
    # the reference rows only (no restorer), for the SPADE run and a task:
    python -m training evaluate-mask-restorer --spade runs/spade_synth --task sr8 --data /tmp/scenes

FID uses pytorch-fid's Inception with --inception WEIGHTS.pth (never downloaded here;
"features": "inception"), else the encoder of the project segmenter given with --segmenter
("features": "segmenter", not comparable to published FID); with neither, FID is null.
FCN-score needs --segmenter.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training evaluate-mask-restorer", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--restorer", help="train-mask-restorer run / checkpoint (omit for reference rows)")
    parser.add_argument("--spade", default="", help="SPADE run (default: the restorer's own)")
    parser.add_argument("--task", choices=("sparse", "sr8"), help="incomplete masks without --restorer")
    parser.add_argument("--data", required=True, help="Cityscapes-layout root (or generate-scenes OUT)")
    parser.add_argument("--split", default="val")
    parser.add_argument("--segmenter", default="", help="train-segmenter run: FCN-score and FID features")
    parser.add_argument("--inception", default="", help="pytorch-fid Inception weights .pth for FID")
    parser.add_argument("--seed", type=int, default=0, help="seed of the incomplete masks")
    parser.add_argument("--limit", type=int, default=0, help="at most this many images (0: all)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", help="write the JSON here too")
    args = parser.parse_args(argv)
    if not args.restorer and not (args.spade and args.task):
        parser.error("give --restorer, or --spade and --task for the reference rows")

    from training.restoration.evaluate import evaluate_restorer

    result = evaluate_restorer(args.restorer, root=args.data, split=args.split, spade=args.spade,
                               segmenter=args.segmenter, inception=args.inception, restore_task=args.task,
                               seed=args.seed,
                               device=args.device, limit=args.limit, progress=True)
    text = json.dumps(result, indent=2)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n")
    print(text)
    return 0
