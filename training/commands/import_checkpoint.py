"""`python -m training import-checkpoint` — a pretrained SegFormer or DeepLabV3 as a project checkpoint.

Writes the checkpoint `train-segmenter` writes (safetensors weights + model spec + the
segmentation metadata), holding the source's weights unchanged, so `evaluate` and
`python -m export` use a pretrained model as it is. Fine-tuning one step with lr=0 is no
substitute: BatchNorm statistics still move and the logits change.

Sources (read from disk, nothing downloaded, nothing unpickled):
- `hf-segformer DIR`: a transformers folder (config.json + model.safetensors) of
  SegformerForSemanticSegmentation, e.g. nvidia/segformer-b0-finetuned-cityscapes-1024-1024.
  A folder with only pytorch_model.bin (a pickle) is refused.
- `torchvision-deeplabv3 FILE.pth`: a torchvision deeplabv3_resnet50/101 state dict, read with
  torch.load(weights_only=True); `aux_classifier.*` is dropped. The output stride is not in the
  weights: torchvision's is 8 (`--output-stride`).
Every weight must load: an encoder-only folder or a backbone-only file is an error (use those
as `init_from` for train-segmenter instead). Classes: the source's count; names from
`--class-names`, else Cityscapes' for 19 classes, else the HF folder's id2label, else class_<i>.

Example:
    python -m training import-checkpoint --from hf-segformer /data/segformer-b0-cityscapes \\
        --out runs/segformer-b0_cityscapes-pretrained
    python -m training evaluate --checkpoint runs/segformer-b0_cityscapes-pretrained \\
        --dataset cityscapes --root /data/cityscapes --split val
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SOURCES = ("hf-segformer", "torchvision-deeplabv3")
MAX_JSON_BYTES = 1 << 20  # preprocessor_config.json is ~1 KB


def _size(text: str) -> list[int]:
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"size must be HxW, got {text!r}") from exc
    return [h, w]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m training import-checkpoint", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--from", dest="source", nargs=2, required=True, metavar=("KIND", "PATH"),
                   help=f"what to import: {' | '.join(SOURCES)}, and its folder or file")
    p.add_argument("--out", required=True, type=Path, help="checkpoint directory to write")
    p.add_argument("--input-size", type=_size, default=[512, 1024], metavar="HxW",
                   help="the network input size recorded for export (default %(default)s)")
    p.add_argument("--class-names", default=None, help="comma-separated class names (default: see above)")
    p.add_argument("--output-stride", type=int, choices=(8, 16), default=8,
                   help="DeepLabV3 only: the stride the weights were trained at (torchvision: 8)")
    p.add_argument("--overwrite", action="store_true", help="replace a checkpoint already in --out")
    p.add_argument("--debug", action="store_true", help="show the traceback of an error")
    return p


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    if path.stat().st_size > MAX_JSON_BYTES:
        raise ValueError(f"{path}: {path.stat().st_size} bytes is too large for a preprocessor config")
    data = json.loads(path.read_text())
    return data if isinstance(data, dict) else {}


def _class_names(spec: str | None, num_classes: int, labels: dict[int, str]) -> list[str]:
    from rain_seg_ros.labels import CITYSCAPES_CLASSES
    from training.metrics.segmentation import default_class_names

    if spec is not None:
        names = [n.strip() for n in spec.split(",")]
        if len(names) != num_classes:
            raise ValueError(f"--class-names gives {len(names)} names; the source has {num_classes} classes")
        return names
    if num_classes == len(CITYSCAPES_CLASSES):
        return list(CITYSCAPES_CLASSES)
    named = [labels.get(i, "") for i in range(num_classes)]
    # transformers fills id2label with LABEL_<i> when the folder names nothing.
    if all(n and n != f"LABEL_{i}" for i, n in enumerate(named)):
        return named
    return list(default_class_names(num_classes))


def import_checkpoint(args: argparse.Namespace) -> Path:
    """Build the source's network with its weights and write it as a segmenter checkpoint."""
    from rain_seg_ros.labels import IGNORE_INDEX, IMAGENET_MEAN, IMAGENET_STD
    from training.engine import checkpoint as ckpt

    kind, source = args.source[0], Path(args.source[1])
    if kind not in SOURCES:
        raise ValueError(f"--from {kind!r}: expected one of {', '.join(SOURCES)}")
    if (args.out / "latest").exists() and not args.overwrite:
        raise ValueError(f"{args.out} already holds a checkpoint: pass --overwrite or another --out")
    mean, std = list(IMAGENET_MEAN), list(IMAGENET_STD)
    labels: dict[int, str] = {}
    model: Any
    if kind == "hf-segformer":
        from training.models.segformer import SAFE_WEIGHTS, import_hf_segformer, read_hf_config

        model, kwargs = import_hf_segformer(source)
        labels = {int(k): str(v) for k, v in (read_hf_config(source).id2label or {}).items()}
        pre = _read_json(source / "preprocessor_config.json")
        # SegformerImageProcessor rescales by 1/255 then normalises, as this project does.
        if pre.get("do_normalize", True) and "image_mean" in pre and "image_std" in pre:
            mean, std = [float(v) for v in pre["image_mean"]], [float(v) for v in pre["image_std"]]
        weights = next(source / n for n in SAFE_WEIGHTS if (source / n).is_file())
        model_kind = "segformer"
    else:
        from training.models.deeplabv3 import import_torchvision_deeplabv3

        model, kwargs = import_torchvision_deeplabv3(source, output_stride=args.output_stride)
        weights, model_kind = source, "deeplabv3"
    num_classes = int(kwargs["num_classes"])
    meta = {"task": "segmentation", "num_classes": num_classes,
            "class_names": _class_names(args.class_names, num_classes, labels),
            "ignore_index": IGNORE_INDEX, "mean": mean, "std": std, "input_size": list(args.input_size),
            "imported_from": {"kind": kind, "path": str(source), "sha256": ckpt.file_sha256(weights)}}
    spec = ckpt.ModuleSpec(model_kind, kwargs)
    return ckpt.save_checkpoint(args.out, 0, {"model": (spec, model)}, train_state=None, keep=0,
                                extra_meta=meta)


@contextmanager
def _quiet_transformers(enabled: bool) -> Iterator[None]:
    """transformers prints loading tables and progress bars; problems reach the user as our one
    line. Its settings are restored afterwards (main() also runs inside other programs)."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:
        enabled = False
    if not enabled:
        yield
        return
    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with _quiet_transformers(not args.debug):
            step_dir = import_checkpoint(args)
    except (ValueError, FileNotFoundError, OSError) as exc:
        if args.debug:
            raise
        lines = str(exc).splitlines() or [type(exc).__name__]
        more = " (--debug for the rest)" if len(lines) > 1 else ""
        print(f"import-checkpoint: error: {lines[0]}{more}", file=sys.stderr)
        return 1
    print(f"import-checkpoint: wrote {step_dir} (use --checkpoint {args.out})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
