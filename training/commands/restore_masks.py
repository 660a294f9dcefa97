"""Restore coarse or low-resolution label PNGs to fine ones with a trained mask restorer.

Example:
    python -m training restore-masks --restorer runs/restorer_sparse --labels /data/cityscapes \
        --split train_extra --out /data/cityscapes_restored
    # x8 low-resolution labels stored as ROOT/gtLowres/<split>/<city>/<stem>_gtLowres_labelIds.png:
    python -m training restore-masks --restorer runs/restorer_sr8 --labels ROOT --labels-dir gtLowres ...

OUT gets gtFine/<split>/<city>/*_gtFine_labelIds.png and _labelTrainIds.png, leftImg8bit
links to the source images (so `train-segmenter` reads OUT as a cityscapes root) and
manifest.jsonl. Restarted with the same arguments it skips the files already written.
"""

from __future__ import annotations

import argparse
import json


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training restore-masks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--restorer", required=True, help="train-mask-restorer run / checkpoint")
    parser.add_argument("--labels", required=True, help="Cityscapes-layout root holding the coarse labels")
    parser.add_argument("--labels-dir", default="gtCoarse", help="label folder under ROOT (default gtCoarse)")
    parser.add_argument("--split", default="train")
    parser.add_argument("--out", required=True, help="output root")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)

    from training.restoration.restore import restore_masks

    summary = restore_masks(args.restorer, args.labels, args.out, split=args.split,
                            labels_dir=args.labels_dir, device=args.device)
    print(json.dumps(summary))
    return 0
