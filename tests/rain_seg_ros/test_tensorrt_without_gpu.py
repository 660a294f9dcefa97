"""What of the TensorRT path runs without TensorRT: calibration batches, clear errors, the stub-typed code."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import cv2
import numpy as np
import pytest

from rain_seg_ros.backends import BackendError, open_backend
from rain_seg_ros.backends.tensorrt_calibration import CalibrationBatches

from .runtime_fixtures import MEAN, STD, seg_artifact, write_conv_onnx

ROOT = Path(__file__).resolve().parents[2]
TENSORRT_MODULES = ["rain_seg_ros/backends/tensorrt.py", "rain_seg_ros/backends/tensorrt_build.py",
                    "rain_seg_ros/backends/tensorrt_calibration.py", "export/commands/tensorrt.py",
                    "export/commands/torch_tensorrt.py"]


def _has_real_tensorrt() -> bool:
    try:
        import tensorrt
    except ImportError:
        return False
    return hasattr(tensorrt, "Builder")


def test_calibration_batches_use_the_inference_preprocessing(tmp_path):
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (8, 16, 3), dtype=np.uint8) for _ in range(7)]
    for i, rgb in enumerate(images):
        cv2.imwrite(str(tmp_path / f"{i:02d}.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    (tmp_path / "notes.txt").write_text("not an image")
    batches = CalibrationBatches(tmp_path, seg_artifact(8, 16, 3), batch_size=3)
    out = list(batches)
    assert len(batches) == len(out) == 2                # 7 images -> two full batches, remainder dropped
    assert all(b.shape == (3, 3, 8, 16) and b.dtype == np.float32 for b in out)
    # independent reference: the numpy normalisation of the RGB pixels, in sorted file order
    expected = ((images[4] / 255.0 - np.array(MEAN)) / np.array(STD)).transpose(2, 0, 1)
    np.testing.assert_allclose(out[1][1], expected, atol=1e-5)


def test_calibration_batches_reject_bad_folders(tmp_path):
    with pytest.raises(FileNotFoundError):
        CalibrationBatches(tmp_path / "missing", seg_artifact(8, 16, 3))
    with pytest.raises(FileNotFoundError, match="no images"):
        CalibrationBatches(tmp_path, seg_artifact(8, 16, 3))
    cv2.imwrite(str(tmp_path / "one.png"), np.zeros((8, 16, 3), np.uint8))
    with pytest.raises(ValueError, match="fewer than one batch"):
        CalibrationBatches(tmp_path, seg_artifact(8, 16, 3), batch_size=2)


@pytest.mark.skipif(_has_real_tensorrt(), reason="TensorRT is installed here")
def test_tensorrt_backend_says_clearly_that_tensorrt_is_missing(tmp_path):
    path = tmp_path / "m.onnx"
    write_conv_onnx(path, seg_artifact(8, 16, 3))
    with pytest.raises(BackendError, match="TensorRT"):
        open_backend(path, backend="tensorrt", device="cuda")


# errors inside the (imperfect) stubs are not ours; our calls into them are checked
MYPY_CONFIG = """
[mypy]
python_version = 3.11
ignore_missing_imports = True
check_untyped_defs = True
[mypy-tensorrt_bindings.*,tensorrt.*]
ignore_errors = True
[mypy-torch.*,cv2.*,onnx.*,onnxruntime.*,safetensors.*,scipy.*,sympy.*]
follow_imports = skip
"""


def _patched_stubs(dest: Path) -> Path:
    """tensorrt-stubs 10.13 as a MYPYPATH folder, with its two syntax slips fixed.

    The installed `tensorrt/__init__.pyi` has no py.typed, so mypy ignores it unless it is put
    on MYPYPATH; and its bindings stub uses `in` as a parameter name and a non-default
    parameter after defaults, which stop mypy before it checks anything.
    """
    site = Path(sysconfig.get_paths()["purelib"])
    for package in ("tensorrt", "tensorrt_bindings"):
        if not (site / package).is_dir():
            pytest.skip("tensorrt-stubs is not installed (pip install -r requirements-stubs.txt)")
        (dest / package).mkdir(parents=True)
        for stub in (site / package).glob("*.pyi"):
            text = stub.read_text()
            text = re.sub(r"([(,] *)in: ", r"\1in_: ", text)
            text = text.replace(", channel_axis: int)", ", channel_axis: int = ...)")
            (dest / package / stub.name).write_text(text)
    return dest


def _mypy(files: list[str], stubs: Path, config: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "MYPYPATH": str(stubs)}
    command = [sys.executable, "-m", "mypy", "--config-file", str(config), "--no-incremental", *files]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
                          check=False)


def test_tensorrt_code_type_checks_against_tensorrt_stubs(tmp_path):
    stubs = _patched_stubs(tmp_path / "stubs")
    config = tmp_path / "mypy.ini"
    # torch is skipped to keep this fast (~5 s); `make typecheck` checks the torch calls
    config.write_text(MYPY_CONFIG)
    # canary: the set-up must really see the stubs, or a passing check proves nothing
    canary = tmp_path / "canary.py"
    canary.write_text("import tensorrt as trt\n\ndef f() -> None:\n"
                      "    trt.Builder(trt.Logger(trt.Logger.WARNING)).create_builder_config()"
                      ".set_memory_pool_limit('workspace', 1)\n")
    bad = _mypy([str(canary)], stubs, config)
    assert bad.returncode != 0 and "set_memory_pool_limit" in bad.stdout, bad.stdout + bad.stderr
    result = _mypy(TENSORRT_MODULES, stubs, config)
    assert result.returncode == 0, result.stdout + result.stderr
