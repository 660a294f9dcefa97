"""`python -m export <command> [args]` — ONNX / .pt2 / TensorRT export and parity checks.

Example:
    python -m export onnx --checkpoint runs/seg --out model.onnx --height 256 --width 512
    python -m export verify --model model.onnx --checkpoint runs/seg
"""

from __future__ import annotations

import sys

from rain_seg_ros.cli import dispatch

COMMANDS: dict[str, tuple[str, str]] = {
    "onnx": ("export.commands.onnx", "ONNX (dynamo exporter, onnxslim) + sidecar JSON"),
    "pt2": ("export.commands.pt2", "torch.export program (.pt2) + sidecar JSON"),
    "verify": ("export.commands.verify", "parity of an exported model against PyTorch"),
    "tensorrt": ("export.commands.tensorrt", "build and cache a TensorRT engine on this GPU"),
    "torch-tensorrt": ("export.commands.torch_tensorrt", "compile with torch-tensorrt and save"),
}


def main(argv: list[str] | None = None) -> int:
    return dispatch("python -m export", COMMANDS, argv)


if __name__ == "__main__":
    sys.exit(main())
