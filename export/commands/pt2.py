"""`python -m export pt2`: checkpoint -> torch.export program(s) (`.pt2`) + sidecar JSON.

Same outputs as `export onnx` (segmenters: one graph with uint8 ids/confidence out; DSANet:
one graph + the rain-code bank), for the runtime's PyTorch backend.

Example:
    python -m export pt2 --checkpoint runs/segformer --out artifacts/segformer.pt2 --height 256 --width 512
"""

from __future__ import annotations

import argparse

from export.commands.onnx import add_common_arguments, check_size, run_export


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m export pt2", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(parser)
    parser.add_argument("--out", required=True, help="output .pt2 path")
    args = parser.parse_args(argv)
    check_size(parser, args)
    if not args.out.endswith(".pt2"):
        parser.error("--out must end in .pt2")
    return run_export(args)
