"""Evaluate a segmenter checkpoint on a labelled split: clean, DSANet-rainified, or
derained-then-segmented. Prints (and optionally writes) JSON with mIoU, mAcc, aAcc and
per_class_iou, in percent, as evaluate-masks does.

Example:
    python -m training evaluate --checkpoint runs/seg --dataset cityscapes --root /tmp/scenes --split val
    # on DSANet-rainified images (rain codes from a bank, one per image, seeded):
    python -m training evaluate --checkpoint runs/seg --dataset cityscapes --root /tmp/scenes --split val \
        --rainify runs/dsanet --rain-bank runs/dsanet/rain_bank.safetensors --intensity 0.8
    # derain-then-segment baseline on real rainy images, predictions saved:
    python -m training evaluate --checkpoint runs/seg --dataset cityscapes --root /tmp/scenes \
        --dataset-arg variant=rain --split val --derain runs/dsanet --save-predictions /tmp/preds
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _parse_size(text: str) -> list[int]:
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"size must be HxW, got {text!r}") from exc
    return [h, w]


def _parse_kv(items: list[str]) -> dict[str, object]:
    import yaml

    out: dict[str, object] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--dataset-arg {item!r} is not key=value")
        out[key] = yaml.safe_load(value)
    return out


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m training evaluate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, help="segmenter run dir, step dir or .safetensors")
    p.add_argument("--dataset", required=True, help="dataset name (training.data.build_dataset)")
    p.add_argument("--root", required=True, help="dataset root")
    p.add_argument("--split", default="val")
    p.add_argument("--dataset-arg", action="append", default=[], metavar="KEY=VALUE",
                   help="extra dataset option, e.g. variant=rain (repeatable)")
    p.add_argument("--input-size", type=_parse_size, default=None, metavar="HxW",
                   help="resize images to this size for the network (default: native size)")
    p.add_argument("--rainify", metavar="DSANET", help="rainify every image with this DSANet first")
    p.add_argument("--rain-bank", help="rain-code bank for --rainify (e.g. the one `rainify` wrote)")
    p.add_argument("--rain-refs", help="or: a folder of rainy reference images to encode for --rainify")
    p.add_argument("--styles", type=int, default=16, help="references drawn from --rain-refs")
    p.add_argument("--intensity", type=float, default=1.0, help="rain intensity for --rainify, in [0, 1]")
    p.add_argument("--derain", metavar="DSANET", help="derain every image with this DSANet first")
    p.add_argument("--seed", type=int, default=0, help="seed of the per-image rain-code choice")
    p.add_argument("--save-predictions", metavar="DIR", help="write label PNGs and colour overlays here")
    p.add_argument("--label-ids", action="store_true",
                   help="with --save-predictions: also DIR/labelIds/<name>.png in Cityscapes labelIds, the "
                        "format the Cityscapes / ACDC / Dark Zurich benchmark servers take (19-class models)")
    p.add_argument("--out", help="also write the JSON here")
    p.add_argument("--device", default="auto")
    p.add_argument("--limit", type=int, default=None, help="score only the first N images")
    return p


def _check_label_ids(args: argparse.Namespace) -> None:
    """--label-ids maps Cityscapes train ids: only for 19-class Cityscapes models, with a folder."""
    from training.engine.checkpoint import read_metadata

    if not args.save_predictions:
        raise SystemExit("error: --label-ids writes predictions: give --save-predictions DIR too")
    classes = read_metadata(args.checkpoint)[1].get("class_names", [])
    if len(classes) != 19:
        raise SystemExit(f"error: --label-ids maps the 19 Cityscapes train ids; {args.checkpoint} has "
                         f"{len(classes)} classes")


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.rainify and args.derain:
        print("error: --rainify and --derain are exclusive", file=sys.stderr)
        return 2
    if args.rainify and not (args.rain_bank or args.rain_refs):
        print("error: --rainify needs --rain-bank or --rain-refs", file=sys.stderr)
        return 2

    import torch

    from training.segmenter.config import DataSource
    from training.segmenter.data import open_dataset
    from training.segmenter.evaluation import evaluate_checkpoint, json_safe
    from training.segmenter.predictions import PredictionWriter
    from training.segmenter.weather import image_fn_from_args

    device = "cuda" if args.device == "auto" and torch.cuda.is_available() else args.device
    device = "cpu" if device == "auto" else device
    source = DataSource(dataset=args.dataset, root=args.root, split=args.split,
                        kwargs=_parse_kv(args.dataset_arg))
    dataset = open_dataset(source)
    if args.limit is not None:
        dataset = torch.utils.data.Subset(dataset, range(min(args.limit, len(dataset))))  # type: ignore[arg-type]
    image_fn = image_fn_from_args(rainify=args.rainify, rain_bank=args.rain_bank, rain_refs=args.rain_refs,
                                  styles=args.styles, intensity=args.intensity, derain=args.derain,
                                  seed=args.seed, device=device)
    if args.label_ids:
        _check_label_ids(args)
    writer = (PredictionWriter(args.save_predictions, label_ids=args.label_ids)
              if args.save_predictions else None)
    scores = evaluate_checkpoint(args.checkpoint, dataset, device=device, input_size=args.input_size,
                                 image_fn=image_fn, on_prediction=writer, progress=True)
    scores.update({"checkpoint": str(args.checkpoint), "dataset": args.dataset, "root": str(args.root),
                   "split": args.split, "num_images": len(dataset),  # type: ignore[arg-type]
                   "condition": ("rainify" if args.rainify else "derain" if args.derain else "as-is"),
                   "intensity": args.intensity if args.rainify else None})
    text = json.dumps(json_safe(scores), indent=2)
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n")
    return 0
