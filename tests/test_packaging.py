"""`colcon build` of the ament_python package installs executables, launch and config files;
package.xml declares every third-party module the runtime imports."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_FILES = ["package.xml", "setup.py", "setup.cfg", "resource", "rain_seg_ros", "launch", "config"]


def _console_scripts() -> list[str]:
    text = (ROOT / "setup.py").read_text()
    return re.findall(r'"([a-z_]+) = rain_seg_ros[.\w]*:\w+"', text)


@pytest.fixture(scope="module")
def install_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    colcon = Path(sys.executable).with_name("colcon")
    if not colcon.exists():
        pytest.skip("colcon is not installed in this environment")
    work = tmp_path_factory.mktemp("colcon")
    src = work / "src" / "rain_seg_ros"
    src.mkdir(parents=True)
    for name in PACKAGE_FILES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif path.exists():
            shutil.copy2(path, src / name)
    result = subprocess.run(
        [str(colcon), "build", "--base-paths", str(work / "src"), "--build-base", str(work / "build"),
         "--install-base", str(work / "install"), "--event-handlers", "console_direct-"],
        cwd=work, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return work / "install" / "rain_seg_ros"


def test_share_has_package_launch_and_config(install_tree: Path) -> None:
    share = install_tree / "share" / "rain_seg_ros"
    assert (share / "package.xml").is_file()
    for launch_file in (ROOT / "launch").glob("*.launch.py"):
        assert (share / "launch" / launch_file.name).is_file()
    for config_file in (ROOT / "config").glob("*.yaml"):
        assert (share / "config" / config_file.name).is_file()
    index = install_tree / "share" / "ament_index" / "resource_index" / "packages" / "rain_seg_ros"
    assert index.is_file()


def test_console_scripts_installed_under_lib(install_tree: Path) -> None:
    lib = install_tree / "lib" / "rain_seg_ros"
    for name in _console_scripts():
        exe = lib / name
        assert exe.is_file(), f"{name} missing from {lib}"
        assert exe.stat().st_mode & 0o111


def test_package_xml_is_format_3_with_test_deps() -> None:
    root = ET.parse(ROOT / "package.xml").getroot()
    assert root.get("format") == "3"
    assert root.findtext("name") == "rain_seg_ros"
    assert root.findall("test_depend")
    assert root.find("export/build_type").text == "ament_python"


# import name -> rosdep key (ros/rosdistro rosdep/base.yaml, python.yaml; `-pip` keys install from PyPI).
ROSDEP_KEYS = {
    "rclpy": "rclpy", "rcl_interfaces": "rcl_interfaces", "sensor_msgs": "sensor_msgs",
    "std_msgs": "std_msgs", "diagnostic_msgs": "diagnostic_msgs", "builtin_interfaces": "builtin_interfaces",
    "numpy": "python3-numpy", "cv2": "python3-opencv", "yaml": "python3-yaml", "tqdm": "python3-tqdm",
    "matplotlib": "python3-matplotlib", "psutil": "python3-psutil",
    "onnxruntime": "python3-onnxruntime-pip",  # the CPU reference backend; no apt package
    "rosbags": "python3-rosbags-pip",
    "lz4": "python3-rosbags-pip",  # rosbags' own dependency (bounded MCAP decompression); no rosdep key
    # No rosdep key in rosdistro yet (checked 2026-08): named by the -pip convention, see package.xml.
    "safetensors": "python3-safetensors-pip",
}
# Imported only inside the code paths that need them; the package works without them.
OPTIONAL = {
    "tensorrt": "TensorRT backend, NVIDIA libraries on a GPU machine only",
    "torch_tensorrt": "torch-tensorrt .pt2 compilation, GPU only",
    "cuda": "CUDA Python bindings, GPU only",
    "torch": ".pt2 backend and TensorRT INT8 calibration; a CUDA build matched to the vehicle's GPU",
    "cv_bridge": "used when importable; codec.py decodes the same encodings without it",
    # The TensorRT build path only (GPU machine), installed with it from pip (docs/export.md):
    "onnx": "reads graph precision and writes the fp16 copy before a TensorRT build",
    "google": "protobuf's DecodeError, from onnx, on the same TensorRT build path",
    "onnxconverter_common": "fp16 copy of the ONNX graph for strongly typed TensorRT builds",
    "modelopt": "NVIDIA ModelOpt int8 Q/DQ calibration for TensorRT",
}


def _imports(path: Path) -> tuple[set[str], set[str]]:
    """(all imported top-level modules, those imported unconditionally at module level)."""
    tree = ast.parse(path.read_text(), filename=str(path))

    def tops(node: ast.AST) -> set[str]:
        if isinstance(node, ast.Import):
            return {alias.name.split(".")[0] for alias in node.names}
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            return {node.module.split(".")[0]}
        return set()

    everything = set().union(*(tops(node) for node in ast.walk(tree)))
    eager = set().union(*(tops(node) for node in tree.body))
    return everything, eager


def _third_party_imports() -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """module -> files importing it (anywhere / at module level), stdlib and the package itself left out."""
    anywhere: dict[str, list[str]] = {}
    eager: dict[str, list[str]] = {}
    for path in sorted((ROOT / "rain_seg_ros").rglob("*.py")):
        everything, top_level = _imports(path)
        for module in everything - set(sys.stdlib_module_names) - {"rain_seg_ros"}:
            anywhere.setdefault(module, []).append(str(path.relative_to(ROOT)))
            if module in top_level:
                eager.setdefault(module, []).append(str(path.relative_to(ROOT)))
    return anywhere, eager


def undeclared(imports: dict[str, list[str]], exec_deps: set[str]) -> list[str]:
    """One message per required third-party module that package.xml does not declare."""
    problems = []
    for module, files in sorted(imports.items()):
        if module in OPTIONAL:
            continue
        if module not in ROSDEP_KEYS:
            problems.append(f"add the rosdep key for {module} (imported by {files[0]}) to ROSDEP_KEYS")
        elif ROSDEP_KEYS[module] not in exec_deps:
            problems.append(f"package.xml lacks <exec_depend>{ROSDEP_KEYS[module]}</exec_depend> "
                            f"({module}, imported by {files[0]})")
    return problems


def test_package_xml_declares_every_runtime_import() -> None:
    exec_deps = {e.text or "" for e in ET.parse(ROOT / "package.xml").getroot().findall("exec_depend")}
    anywhere, _ = _third_party_imports()
    assert {"rclpy", "numpy", "rosbags"} <= set(anywhere)  # the walk itself sees the package
    assert undeclared(anywhere, exec_deps) == []


def test_unknown_module_asks_for_its_rosdep_key() -> None:
    problems = undeclared({"shapely": ["rain_seg_ros/x.py"], "numpy": ["rain_seg_ros/y.py"]}, set())
    assert problems == ["package.xml lacks <exec_depend>python3-numpy</exec_depend> "
                        "(numpy, imported by rain_seg_ros/y.py)",
                        "add the rosdep key for shapely (imported by rain_seg_ros/x.py) to ROSDEP_KEYS"]


def test_optional_modules_are_imported_lazily() -> None:
    _, eager = _third_party_imports()
    for module, reason in OPTIONAL.items():
        assert module not in eager, f"optional {module} ({reason}) imported at module level: {eager[module]}"
