"""The runtime core keeps DESIGN.md's dependency direction and imports heavy GPU libraries lazily."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_rain_seg_ros_never_imports_training_or_export():
    offenders = []
    for path in (ROOT / "rain_seg_ros").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names
                          if n.split(".")[0] in ("training", "export")]
    assert not offenders


def test_core_modules_import_without_loading_tensorrt():
    code = ("import sys, rain_seg_ros.backends, rain_seg_ros.segmenter, rain_seg_ros.weather, "
            "rain_seg_ros.bench, rain_seg_ros.backends.tensorrt, rain_seg_ros.backends.tensorrt_calibration; "
            "print(sorted(m for m in ('tensorrt', 'torch_tensorrt', 'pycuda') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         check=True)
    assert out.stdout.strip() == "[]"
