"""`python -m training evaluate-masks` — mIoU / mAcc / aAcc of predicted label PNGs against ground truth.

Predictions are single-channel PNGs of class ids (trainIds for Cityscapes) at the ground
truth's resolution. Files are paired by name (training/metrics/files.py): with Cityscapes
ground truth `<stem>_gtFine_labelTrainIds.png` the suffix is detected and predictions named
`<stem>.png` or `<stem>_<anything>.png` match. stdout carries only the JSON result; the
progress bar and warnings about unmatched files go to stderr.

Example (scores generated labels against themselves, so every score is 100):
    python -m training generate-scenes --out /tmp/scenes --count 4 --size 128x256 --seed 0
    python -m training evaluate-masks --pred /tmp/scenes/cityscapes/gtFine/val \\
        --gt /tmp/scenes/cityscapes/gtFine/val --num-classes 19 --pred-suffix _gtFine_labelTrainIds
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path
from typing import Any

from tqdm import tqdm

from rain_seg_ros.labels import CITYSCAPES_CLASSES, IGNORE_INDEX
from training.metrics.files import (
    MASK_EXTENSIONS,
    describe_unmatched,
    list_files,
    match_files,
    read_label_png,
)
from training.metrics.segmentation import SegmentationMetric, default_class_names

# Ground-truth label files of Cityscapes (gtFine/gtCoarse) and ACDC (gt): stem minus this = key.
_TRAIN_ID_SUFFIX = re.compile(r"(_gtFine|_gtCoarse|_gt)?_labelTrainIds$")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m training evaluate-masks", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pred", required=True, type=Path, help="folder of predicted class-id PNGs")
    p.add_argument("--gt", required=True, type=Path, help="folder of ground-truth class-id PNGs")
    p.add_argument("--num-classes", required=True, type=int, help="number of classes (19 for Cityscapes)")
    p.add_argument("--ignore-index", type=int, default=IGNORE_INDEX,
                   help="ground-truth value that is not scored (default %(default)s)")
    p.add_argument("--gt-suffix", default=None,
                   help="stripped from ground-truth stems; only files with it are ground truth "
                        "(default: '_gtFine_labelTrainIds' style suffixes when present, else none)")
    p.add_argument("--pred-suffix", default=None,
                   help="only predictions whose stem ends with this, matched exactly after removing it")
    p.add_argument("--match", choices=("auto", "stem", "number"), default="auto",
                   help="pair by file stem, by the last number in the name, or stem then number")
    p.add_argument("--class-names", default="auto",
                   help="'cityscapes', 'generic' (class_<i>), a comma-separated list, or 'auto' "
                        "(cityscapes for 19 classes, else generic)")
    p.add_argument("--require-all", action="store_true",
                   help="fail when a ground-truth file has no prediction")
    return p


def class_names_from_arg(spec: str, num_classes: int) -> tuple[str, ...]:
    if spec == "auto":
        return default_class_names(num_classes)
    if spec == "cityscapes":
        names = CITYSCAPES_CLASSES
    elif spec == "generic":
        names = tuple(f"class_{i}" for i in range(num_classes))
    else:
        names = tuple(n.strip() for n in spec.split(","))
    if len(names) != num_classes:
        raise ValueError(f"--class-names gives {len(names)} names for --num-classes {num_classes}")
    return names


def detect_gt_suffix(gt_files: list[Path]) -> str:
    """The label-file suffix of the first `*_labelTrainIds.png` found, else "" (every PNG is ground truth)."""
    for f in gt_files:
        m = _TRAIN_ID_SUFFIX.search(f.stem)
        if m and m.start() > 0:
            return m.group(0)
    return ""


def _json_safe(value: Any) -> Any:
    """NaN (an undefined score) becomes null, so the output stays strict JSON."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    return value


def evaluate(args: argparse.Namespace) -> dict[str, Any]:
    names = class_names_from_arg(args.class_names, args.num_classes)
    gt_files = list_files(args.gt, MASK_EXTENSIONS)
    pred_files = list_files(args.pred, MASK_EXTENSIONS)
    gt_suffix = detect_gt_suffix(gt_files) if args.gt_suffix is None else args.gt_suffix
    matching = match_files(pred_files, gt_files, gt_suffix=gt_suffix,
                           pred_suffix=args.pred_suffix, mode=args.match)
    if not matching.pairs:
        raise ValueError(
            f"no prediction matches a ground-truth file ({len(pred_files)} PNGs in {args.pred}, "
            f"{len(gt_files)} in {args.gt}, ground-truth suffix {gt_suffix!r}); "
            "check --gt-suffix / --pred-suffix / --match")
    if matching.unmatched_gt and args.require_all:
        raise ValueError(describe_unmatched(matching.unmatched_gt, "ground-truth"))
    for files, side in ((matching.unmatched_gt, "ground-truth"), (matching.unmatched_pred, "prediction")):
        if files:
            print(f"warning: {describe_unmatched(files, side)}", file=sys.stderr)

    metric = SegmentationMetric(args.num_classes, ignore_index=args.ignore_index, class_names=names)
    for pred_path, gt_path in tqdm(matching.pairs, desc="evaluate-masks", unit="img", file=sys.stderr):
        pred, gt = read_label_png(pred_path), read_label_png(gt_path)
        if pred.shape != gt.shape:
            raise ValueError(f"{pred_path} is {pred.shape[1]}x{pred.shape[0]} but {gt_path} is "
                             f"{gt.shape[1]}x{gt.shape[0]} (predictions must be at label resolution)")
        try:
            metric.update(pred, gt)
        except ValueError as e:
            raise ValueError(f"{pred_path} / {gt_path}: {e}") from e

    result = metric.compute()
    if result["num_pixels"] == 0:
        raise ValueError("every ground-truth pixel is ignore_index: nothing to score")
    result.update(num_images=len(matching.pairs), num_classes=args.num_classes,
                  ignore_index=args.ignore_index, matched_by=matching.mode,
                  unmatched_gt=len(matching.unmatched_gt), unmatched_pred=len(matching.unmatched_pred))
    return _json_safe(result)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result = evaluate(args)
    except (ValueError, FileNotFoundError) as e:
        print(f"evaluate-masks: error: {e}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
