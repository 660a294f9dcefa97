"""`python -m export.bench_models`: random-weight segmenters (real constructors) exported for benchmarks.

Writes per model and size, with the same exporters as `python -m export onnx|pt2`:
    `<name>-<H>x<W>.onnx|.pt2`          what ships: results in the graph (uint8 in, ids and
                                        confidence out, contract ids_confidence_u8)
    `<name>-<H>x<W>-network.onnx|.pt2`  the bare network (float in, logits out, contract float),
                                        the "bare" reference of `python -m rain_seg_ros.bench`
Weights are random (seeded, the same in both): speed does not depend on them, and nothing is
downloaded. The sidecars say so (`extra.random_weights`).

Example:
    python -m export.bench_models --out artifacts/bench --sizes 256x512 512x1024
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

import torch

from export.graphs import segmentation_graph
from export.sidecar import exporter_versions, segmentation_artifact
from export.to_onnx import DEFAULT_OPSET, export_onnx
from export.to_pt2 import export_pt2
from rain_seg_ros.labels import CITYSCAPES_CLASSES

# name -> (model kind in training.models.MODEL_KINDS, constructor kwargs)
BENCH_MODELS: dict[str, tuple[str, dict[str, Any]]] = {
    "segformer-b0": ("segformer", {"variant": "b0", "num_classes": 19}),
    "deeplabv3-r50": ("deeplabv3", {"backbone": "resnet50", "num_classes": 19}),
    "erf-pspnet": ("erf_pspnet", {"num_classes": 19}),
    # the width make demo trains (config/training/erf-pspnet_demo-clean_synth-128x256.yaml)
    "erf-pspnet-demo": ("erf_pspnet", {"num_classes": 19, "channels": [16, 32, 64], "head_channels": 64,
                                       "dropout": [0.0, 0.05]}),
}
NETWORK_SUFFIX = "-network"   # the bare network's file stem ends with this


def parse_size(text: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size {text!r} is not like 256x512") from None
    if h < 8 or w < 8:
        raise argparse.ArgumentTypeError(f"size {text!r} is too small")
    return h, w


def export_bench_model(name: str, kind: str, kwargs: dict[str, Any], size: tuple[int, int], out: Path,
                       *, formats: tuple[str, ...] = (".onnx", ".pt2"), seed: int = 0) -> list[Path]:
    """Build `kind` with random weights and export it at `size` in each format, as the shipped graph
    and as the bare network (module docstring); returns the files."""
    from training.models import build_model

    torch.manual_seed(seed)
    model = build_model(kind, kwargs).eval()
    h, w = size
    meta = {"num_classes": kwargs.get("num_classes", 19), "class_names": list(CITYSCAPES_CLASSES)}
    written = []
    for contract, tail in (("ids_confidence_u8", ""), ("float", NETWORK_SUFFIX)):
        for suffix in formats:
            more = {"opset": str(DEFAULT_OPSET)} if suffix == ".onnx" else {}
            artifact = segmentation_artifact(meta, h, w, dynamic_batch=False, checkpoint_sha256="",
                                             exporter=exporter_versions(**more), contract=contract)
            artifact.extra = {"random_weights": True, "kind": kind, "config": kwargs}
            module = segmentation_graph(model, artifact) if contract != "float" else model
            path = out / f"{name}-{h}x{w}{tail}{suffix}"
            written.append(export_onnx(module, artifact, path) if suffix == ".onnx" else
                           export_pt2(module, artifact, path))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m export.bench_models", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--sizes", nargs="+", type=parse_size, default=[(256, 512), (512, 1024)])
    parser.add_argument("--models", nargs="+", default=list(BENCH_MODELS), choices=list(BENCH_MODELS))
    parser.add_argument("--formats", nargs="+", default=["onnx", "pt2"], choices=["onnx", "pt2"],
                        help="files to write (default: %(default)s; pt2: torch rows and FLOPs)")
    args = parser.parse_args(argv)
    formats = tuple(f".{f}" for f in args.formats)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for name in args.models:
        kind, kwargs = BENCH_MODELS[name]
        for size in args.sizes:
            for path in export_bench_model(name, kind, kwargs, size, args.out, formats=formats):
                print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
