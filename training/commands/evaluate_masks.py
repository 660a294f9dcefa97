"""`python -m training evaluate-masks` — mIoU / mAcc / aAcc of predicted label PNGs against ground truth.

Predictions are single-channel PNGs of class ids (trainIds for Cityscapes) at the ground
truth's resolution. Files are paired by name (training/metrics/files.py): with Cityscapes
ground truth `<stem>_gtFine_labelTrainIds.png` the suffix is detected and predictions named
`<stem>.png` or `<stem>_<anything>.png` match. stdout carries only the JSON result; the
progress bar and warnings about unmatched files go to stderr.

`--gt-format labelids` scores against the official Cityscapes `*_gtFine_labelIds.png`,
mapped to trainIds with cityscapesscripts' table (ids without a trainId are ignored, as in
the benchmark). `--pred-ignore-as-miss` counts a prediction of `--ignore-index` (255) on a
scored pixel as wrong, as mmseg and the Cityscapes benchmark do (a false negative of the true
class, a false positive of none); without it such a prediction is an error.

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

import numpy as np
import torch
from tqdm import tqdm

from rain_seg_ros.labels import CITYSCAPES_CLASSES, IGNORE_INDEX
from training.data.cityscapes import label_id_to_train_id_lut
from training.metrics.files import (
    MASK_EXTENSIONS,
    MATCH_MODES,
    describe_unmatched,
    list_files,
    match_files,
    read_label_png,
)
from training.metrics.segmentation import confusion_matrix, default_class_names, metrics_from_confusion

# Ground-truth label files of Cityscapes (gtFine/gtCoarse) and ACDC (gt): stem minus this = key.
GT_SUFFIXES = {"trainids": re.compile(r"(_gtFine|_gtCoarse|_gt)?_labelTrainIds$"),
               "labelids": re.compile(r"(_gtFine|_gtCoarse|_gt)?_labelIds$")}


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
    p.add_argument("--match", choices=MATCH_MODES, default="auto",
                   help="pair by stem then Rain100 names (auto), by one of them, or by the last "
                        "number in the name (number: only when the names carry nothing else)")
    p.add_argument("--gt-format", choices=tuple(GT_SUFFIXES), default="trainids",
                   help="ground truth holds trainIds (default) or Cityscapes labelIds, mapped to "
                        "the 19 trainIds with cityscapesscripts' table")
    p.add_argument("--pred-ignore-as-miss", action="store_true",
                   help="a prediction equal to --ignore-index counts as wrong (mmseg / Cityscapes) "
                        "instead of being an error")
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


def detect_gt_suffix(gt_files: list[Path], gt_format: str = "trainids") -> str:
    """The label-file suffix (`_gtFine_labelTrainIds` / `_gtFine_labelIds` ...) of the first file
    with one, else "" (every PNG is ground truth).

    Raises:
        ValueError: when the files are labelIds but `gt_format` says trainIds, or the reverse.
    """
    found = {fmt: next((m.group(0) for f in gt_files if (m := pattern.search(f.stem)) and m.start() > 0), "")
             for fmt, pattern in GT_SUFFIXES.items()}
    other = "labelids" if gt_format == "trainids" else "trainids"
    if not found[gt_format] and found[other]:
        raise ValueError(f"the ground truth holds *{found[other]}.png and no {gt_format} files: "
                         f"pass --gt-format {other}")
    return found[gt_format]


def _json_safe(value: Any) -> Any:
    """NaN (an undefined score) becomes null, so the output stays strict JSON."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    return value


def evaluate(args: argparse.Namespace) -> dict[str, Any]:
    names = class_names_from_arg(args.class_names, args.num_classes)
    lut = label_id_to_train_id_lut() if args.gt_format == "labelids" else None
    if lut is not None and args.num_classes != len(CITYSCAPES_CLASSES):
        raise ValueError(f"--gt-format labelids maps to the {len(CITYSCAPES_CLASSES)} Cityscapes trainIds: "
                         f"pass --num-classes {len(CITYSCAPES_CLASSES)} (got {args.num_classes})")
    gt_files = list_files(args.gt, MASK_EXTENSIONS)
    pred_files = list_files(args.pred, MASK_EXTENSIONS)
    gt_suffix = detect_gt_suffix(gt_files, args.gt_format) if args.gt_suffix is None else args.gt_suffix
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

    c, ignore = args.num_classes, args.ignore_index
    # With --pred-ignore-as-miss a prediction of `ignore` becomes an extra column C: it adds to
    # its row's class count (a false negative) and to no class's predictions.
    size = c + 1 if args.pred_ignore_as_miss else c
    matrix = torch.zeros(size, size, dtype=torch.int64)
    for pred_path, gt_path in tqdm(matching.pairs, desc="evaluate-masks", unit="img", file=sys.stderr):
        pred, gt = read_label_png(pred_path), read_label_png(gt_path)
        if pred.shape != gt.shape:
            raise ValueError(f"{pred_path} is {pred.shape[1]}x{pred.shape[0]} but {gt_path} is "
                             f"{gt.shape[1]}x{gt.shape[0]} (predictions must be at label resolution)")
        if lut is not None:
            if gt.dtype != np.uint8:
                raise ValueError(f"{gt_path}: labelIds must be 8-bit, got {gt.dtype}")
            gt = lut[gt]
        try:
            if args.pred_ignore_as_miss:
                pred = _ignore_as_miss(pred, gt, c, ignore)
            matrix += confusion_matrix(pred, gt, size, ignore)
        except ValueError as e:
            raise ValueError(f"{pred_path} / {gt_path}: {e}") from e

    result = _scores(matrix, names, c)
    if result["num_pixels"] == 0:
        raise ValueError("every ground-truth pixel is ignore_index: nothing to score")
    result.update(num_images=len(matching.pairs), num_classes=c, ignore_index=ignore,
                  gt_format=args.gt_format, matched_by=matching.mode,
                  unmatched_gt=len(matching.unmatched_gt), unmatched_pred=len(matching.unmatched_pred))
    return _json_safe(result)


def _ignore_as_miss(pred: np.ndarray, gt: np.ndarray, num_classes: int, ignore: int) -> np.ndarray:
    """`pred` with `ignore` replaced by the extra class `num_classes`, after checking both ranges
    (the (C+1)-class count would otherwise accept an id C on either side)."""
    scored = gt != ignore
    for name, ids in (("target", gt[scored]), ("prediction", pred[pred != ignore])):
        bad = np.unique(ids[ids >= num_classes])
        if bad.size:
            raise ValueError(f"class ids outside [0, {num_classes}) (ignore_index={ignore}): "
                             f"{name} has {bad[:10].tolist()}")
    return np.where(pred == ignore, num_classes, pred.astype(np.int64))


def _scores(matrix: torch.Tensor, names: tuple[str, ...], num_classes: int) -> dict[str, Any]:
    if matrix.shape[0] == num_classes:
        return metrics_from_confusion(matrix, names)
    # The miss column's own IoU (always 0) and accuracy (undefined) are not scores of a class:
    # drop them and average over the real classes. Row sums still include the misses.
    full = metrics_from_confusion(matrix, (*names, "<prediction ignore>"))
    iou = [full["per_class_iou"][n] for n in names]
    acc = [full["per_class_acc"][n] for n in names]
    return {"mIoU": _nanmean(iou), "mAcc": _nanmean(acc), "aAcc": full["aAcc"],
            "per_class_iou": dict(zip(names, iou)), "per_class_acc": dict(zip(names, acc)),
            "num_pixels": full["num_pixels"], "pred_ignore_pixels": int(matrix[:, num_classes].sum())}


def _nanmean(values: list[float]) -> float:
    kept = [v for v in values if not math.isnan(v)]
    return float(np.mean(kept)) if kept else float("nan")


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
