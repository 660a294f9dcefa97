"""DDS stays on loopback on every distro: ROS_LOCALHOST_ONLY where the distro's rcl has no
ROS_AUTOMATIC_DISCOVERY_RANGE (Humble and older), the discovery range everywhere."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from rain_seg_ros.dds_env import loopback_dds_env

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("distro", ["humble", "Humble", "foxy"])
def test_old_distros_get_localhost_only(distro: str) -> None:
    env = loopback_dds_env(distro)
    assert env["ROS_LOCALHOST_ONLY"] == "1"
    assert env["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "LOCALHOST"


@pytest.mark.parametrize("distro", ["iron", "jazzy", "kilted", "rolling", ""])
def test_new_distros_get_only_the_discovery_range(distro: str) -> None:
    # Iron+ log a deprecation warning per node when ROS_LOCALHOST_ONLY is set; Kilted ignores it.
    assert loopback_dds_env(distro) == {"ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST"}


def test_default_reads_ros_distro(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROS_DISTRO", "humble")
    assert loopback_dds_env()["ROS_LOCALHOST_ONLY"] == "1"
    monkeypatch.setenv("ROS_DISTRO", "kilted")
    assert "ROS_LOCALHOST_ONLY" not in loopback_dds_env()


def test_conftest_put_this_process_on_loopback() -> None:
    for name, value in loopback_dds_env().items():
        assert os.environ.get(name) == value


@pytest.mark.parametrize("distro", ["humble", "jazzy", "kilted"])
def test_makefile_exports_the_same(tmp_path: Path, distro: str) -> None:
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    probe = tmp_path / "probe.mk"
    probe.write_text(f"include {ROOT / 'Makefile'}\nprobe-env:\n\t@env\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROS_")} | {"ROS_DISTRO": distro}
    out = subprocess.run([make, "-s", "-f", str(probe), "probe-env"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=30, check=True).stdout
    exported = dict(line.split("=", 1) for line in out.splitlines()
                    if line.startswith(("ROS_LOCALHOST_ONLY=", "ROS_AUTOMATIC_DISCOVERY_RANGE=")))
    assert exported == loopback_dds_env(distro)
