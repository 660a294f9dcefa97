"""`python -m training dataset-info`: is this dataset wired right? One JSON object on stdout.

Segmentation sets: num_samples, class_pixel_counts (train id as a string -> pixels; ignore pixels
are not counted, classes with no pixel are left out), ignore_pixels, class_names. Pair sets:
num_samples and image size statistics. A progress bar goes to stderr, so stdout is only the JSON.

Example:
    python -m training generate-scenes --out /tmp/scenes --count 8 --size 128x256 --seed 0
    python -m training dataset-info --dataset cityscapes --root /tmp/scenes --split train
    python -m training dataset-info --dataset acdc --root /data/acdc --split val --opt condition=rain
    python -m training dataset-info --dataset rain100h --root /tmp/scenes/rain_pairs --split train
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from typing import Any

import numpy as np
from tqdm import tqdm

from rain_seg_ros.labels import CITYSCAPES_CLASSES, IGNORE_INDEX


def parse_opts(pairs: list[str]) -> dict[str, Any]:
    """["condition=rain", "return_ref=true", "crop_size=64"] -> reader kwargs (JSON-typed values)."""
    opts: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--opt expects key=value, got {pair!r}")
        try:
            opts[key] = json.loads(value)
        except json.JSONDecodeError:
            opts[key] = value
    return opts


def segmentation_info(dataset: Any, limit: int | None) -> dict[str, Any]:
    counts = np.zeros(256, dtype=np.int64)
    num = len(dataset) if limit is None else min(limit, len(dataset))
    labelled = 0
    for index in tqdm(range(num), desc="dataset-info", unit="img", file=sys.stderr):
        counts += np.bincount(dataset.load_mask(index).ravel(), minlength=256)
        labelled += dataset.items[index].label is not None
    class_counts = {str(i): int(c) for i, c in enumerate(counts) if c and i != IGNORE_INDEX}
    unexpected = sorted(int(k) for k in class_counts if int(k) >= len(CITYSCAPES_CLASSES))
    return {
        "num_samples": len(dataset),
        "num_scanned": num,
        "num_labelled": labelled,
        "class_pixel_counts": class_counts,
        "ignore_pixels": int(counts[IGNORE_INDEX]),
        "class_names": {str(i): name for i, name in enumerate(CITYSCAPES_CLASSES)},
        # Ids outside 0..18 mean the masks are not train ids (e.g. raw labelIds read as trainIds).
        "unexpected_ids": unexpected,
    }


def pair_info(dataset: Any, limit: int | None) -> dict[str, Any]:
    num = len(dataset) if limit is None else min(limit, len(dataset))
    progress = tqdm(range(num), desc="dataset-info", unit="pair", file=sys.stderr)
    sizes = [dataset.pair_size(i) for i in progress]
    heights = np.array([s[0] for s in sizes])
    widths = np.array([s[1] for s in sizes])
    distinct = Counter(f"{h}x{w}" for h, w in sizes)

    def stats(values: np.ndarray) -> dict[str, float]:
        if values.size == 0:
            return {}
        return {"min": int(values.min()), "max": int(values.max()), "mean": round(float(values.mean()), 2)}

    return {
        "num_samples": len(dataset),
        "num_scanned": num,
        "num_clean_images": len({item.clean for item in dataset.items}),
        "height": stats(heights),
        "width": stats(widths),
        "sizes": dict(distinct.most_common(10)),  # "HxW" -> count, 10 most frequent
    }


def main(argv: list[str] | None = None) -> int:
    from training.data import DATASET_NAMES, build_dataset, is_pair_dataset

    parser = argparse.ArgumentParser(prog="python -m training dataset-info", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", required=True, choices=DATASET_NAMES)
    parser.add_argument("--root", required=True, help="dataset folder in its official layout")
    parser.add_argument("--split", default="train")
    parser.add_argument("--opt", action="append", default=[], metavar="KEY=VALUE",
                        help="reader option, repeatable (condition=rain, time=night, timeofday=night, ...)")
    parser.add_argument("--limit", type=int, default=None, help="scan only the first N samples")
    args = parser.parse_args(argv)

    try:
        dataset = build_dataset(args.dataset, args.root, args.split, **parse_opts(args.opt))
        info = (pair_info if is_pair_dataset(args.dataset) else segmentation_info)(dataset, args.limit)
    except (FileNotFoundError, ValueError, TypeError) as exc:
        print(f"dataset-info: {exc}", file=sys.stderr)
        return 1
    result = {"dataset": args.dataset, "root": args.root, "split": args.split,
              "description": dataset.description, **info}
    print(json.dumps(result, indent=2))
    return 0
