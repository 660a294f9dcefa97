"""DDS stays on loopback on every distro: ROS_LOCALHOST_ONLY where the distro's rcl has no
ROS_AUTOMATIC_DISCOVERY_RANGE (Humble and older), the discovery range everywhere. The FastDDS
profile variable(s) point at config/fastdds_shm.xml unless the user set their own."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rain_seg_ros.dds_env import PROFILE_VARS, apply_dds_profile, dds_env, dds_profile_env, loopback_dds_env

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = str(ROOT / "config" / "fastdds_shm.xml")


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


@pytest.mark.parametrize("distro", ["kilted", "rolling", ""])
def test_fastdds3_distros_get_the_shipped_profile_through_fastdds_var(distro: str) -> None:
    # Kilted's rmw warns on every participant when FASTRTPS_DEFAULT_PROFILES_FILE is set.
    assert dds_profile_env(distro, environ={}) == {"FASTDDS_DEFAULT_PROFILES_FILE": SHIPPED}


@pytest.mark.parametrize("distro", ["humble", "jazzy"])
def test_fastdds2_distros_also_get_the_fastrtps_var(distro: str) -> None:
    # Fast DDS 2.x (Humble 2.6, Jazzy 2.14) reads only FASTRTPS_DEFAULT_PROFILES_FILE.
    assert dds_profile_env(distro, environ={}) == dict.fromkeys(PROFILE_VARS, SHIPPED)


@pytest.mark.parametrize("name", PROFILE_VARS)
def test_a_users_own_profile_is_kept(tmp_path: Path, name: str) -> None:
    own = tmp_path / "vehicle.xml"
    own.write_text("<profiles/>")
    assert dds_profile_env("kilted", environ={name: str(own)}) == {name: str(own)}


def test_a_missing_user_profile_is_one_line_naming_the_variable() -> None:
    with pytest.raises(FileNotFoundError) as err:
        dds_profile_env("kilted", environ={"FASTDDS_DEFAULT_PROFILES_FILE": "/nonexistent/p.xml"})
    assert "FASTDDS_DEFAULT_PROFILES_FILE=/nonexistent/p.xml" in str(err.value) and "\n" not in str(err.value)


def test_dds_env_is_loopback_plus_profile() -> None:
    assert dds_env("humble", environ={}) == loopback_dds_env("humble") | dict.fromkeys(PROFILE_VARS, SHIPPED)
    assert dds_env("kilted", profile=False, environ={}) == loopback_dds_env("kilted")


def test_installed_layout_finds_the_profile_under_share(tmp_path: Path) -> None:
    # colcon/pip install: <prefix>/lib/python3.X/site-packages/rain_seg_ros next to
    # <prefix>/share/rain_seg_ros/config
    package = tmp_path / "lib" / "python3.11" / "site-packages" / "rain_seg_ros"
    package.mkdir(parents=True)
    shutil.copy(ROOT / "rain_seg_ros" / "dds_env.py", package / "dds_env.py")
    config = tmp_path / "share" / "rain_seg_ros" / "config"
    config.mkdir(parents=True)
    (config / "fastdds_shm.xml").write_text("<profiles/>")
    code = "import dds_env; print(dds_env.shipped_profile())"
    out = subprocess.run([sys.executable, "-c", code], cwd=package, capture_output=True, text=True,
                         timeout=30, check=True).stdout.strip()
    assert out == str(config / "fastdds_shm.xml")


def test_apply_dds_profile_sets_this_process_and_exits_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROFILE_VARS:  # "" = unset for dds_env; setenv (unlike delenv of an absent
        monkeypatch.setenv(name, "")  # variable) restores the original state afterwards
    monkeypatch.setenv("ROS_DISTRO", "kilted")
    assert apply_dds_profile("rain_seg_bringup") == {"FASTDDS_DEFAULT_PROFILES_FILE": SHIPPED}
    assert os.environ["FASTDDS_DEFAULT_PROFILES_FILE"] == SHIPPED
    monkeypatch.setenv("FASTDDS_DEFAULT_PROFILES_FILE", "/nonexistent/p.xml")
    with pytest.raises(SystemExit) as err:
        apply_dds_profile("rain_seg_bringup")
    assert str(err.value).startswith("rain_seg_bringup: FASTDDS_DEFAULT_PROFILES_FILE=/nonexistent/p.xml")


def test_empty_profile_variables_count_as_unset() -> None:
    empty = dict.fromkeys(PROFILE_VARS, " ")
    assert dds_profile_env("kilted", environ=empty) == {"FASTDDS_DEFAULT_PROFILES_FILE": SHIPPED}
