"""`python -m export <command> [args]` — ONNX / .pt2 / TensorRT export and parity checks.

Example:
    python -m export onnx --checkpoint runs/seg --out model.onnx --height 256 --width 512
    python -m export verify --model model.onnx --checkpoint runs/seg
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

COMMANDS: dict[str, tuple[str, str]] = {
    "onnx": ("export.commands.onnx", "ONNX (dynamo exporter, onnxslim) + sidecar JSON"),
    "pt2": ("export.commands.pt2", "torch.export program (.pt2) + sidecar JSON"),
    "verify": ("export.commands.verify", "parity of an exported model against PyTorch"),
    "tensorrt": ("export.commands.tensorrt", "build and cache a TensorRT engine on this GPU"),
    "torch-tensorrt": ("export.commands.torch_tensorrt", "compile with torch-tensorrt and save"),
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: python -m export <command> [args]", "", "commands:"]
    lines += [f"  {name:<{width}}  {summary}" for name, (mod, summary) in COMMANDS.items()
              if importlib.util.find_spec(mod) is not None]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS or importlib.util.find_spec(COMMANDS[name][0]) is None:
        print(f"unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    return int(importlib.import_module(COMMANDS[name][0]).main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
