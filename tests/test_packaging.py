"""`colcon build` of the ament_python package installs executables, launch and config files."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
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


def test_package_xml_is_format_3_with_run_and_test_deps() -> None:
    import xml.etree.ElementTree as ET

    root = ET.parse(ROOT / "package.xml").getroot()
    assert root.get("format") == "3"
    assert root.findtext("name") == "rain_seg_ros"
    exec_deps = {e.text for e in root.findall("exec_depend")}
    assert {"rclpy", "sensor_msgs", "diagnostic_msgs"} <= exec_deps
    assert root.findall("test_depend")
    assert root.find("export/build_type").text == "ament_python"
