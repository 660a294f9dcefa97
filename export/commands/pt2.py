"""`python -m export pt2`: checkpoint -> torch.export program(s) (`.pt2`) + sidecar JSON.

Same outputs as `export onnx` (DSANet: `_encoder`, `_generator`, rain-code bank), for the
runtime's PyTorch backend.

Example:
    python -m export pt2 --checkpoint runs/segformer --out artifacts/segformer.pt2 --height 256 --width 512
"""

from __future__ import annotations

import argparse
import logging
import sys

from export.commands.onnx import EXPORT_ERRORS, add_common_arguments, check_size
from export.targets import export_checkpoint


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m export pt2", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(parser)
    parser.add_argument("--out", required=True, help="output .pt2 path")
    args = parser.parse_args(argv)
    check_size(parser, args)
    if not args.out.endswith(".pt2"):
        parser.error("--out must end in .pt2")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        written = export_checkpoint(args.checkpoint, args.out, args.height, args.width,
                                    dynamic_batch=args.dynamic_batch, rain_bank=args.rain_bank)
    except EXPORT_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0
