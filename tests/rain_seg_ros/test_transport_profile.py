"""config/fastdds_shm.xml: FastDDS really loads it (a 64 MiB shared-memory segment is mapped
instead of the default 512 KiB), and it keeps UDP on 127.0.0.1 (checked in the XML and on the
sockets FastDDS opens)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from rain_seg_ros.dds_env import PROFILE_VARS, dds_env

ROOT = Path(__file__).resolve().parents[2]
PROFILE = ROOT / "config" / "fastdds_shm.xml"
MIB = 1 << 20

# Runs in a child so that FastDDS reads the profile variable at its first participant.
PROBE = r"""
import json, os, rclpy
rclpy.init()
node = rclpy.create_node("profile_probe")
segments = {line.split()[-1] for line in open("/proc/self/maps") if "/dev/shm/fastdds_" in line}
sizes = [os.stat(p).st_size for p in segments if "_port" not in p]
def target(fd):
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:  # the descriptor listdir itself used is gone
        return ""
inodes = {t[8:-1] for t in map(target, os.listdir("/proc/self/fd")) if t.startswith("socket:[")}
udp = [f.split()[1] for f in open("/proc/net/udp").readlines()[1:] if f.split()[9] in inodes]
print(json.dumps({"segments": sizes, "udp_local": udp}))
node.destroy_node()
rclpy.shutdown()
"""


def probe(profile: bool, prelude: str = "") -> tuple[dict, str]:
    env = {k: v for k, v in os.environ.items() if k not in PROFILE_VARS}
    env.update(dds_env(profile=profile, environ=env))
    run = subprocess.run([sys.executable, "-c", prelude + PROBE], env=env, capture_output=True, text=True,
                         timeout=60, check=True)
    return json.loads(run.stdout.strip().splitlines()[-1]), run.stderr


@pytest.mark.ros
def test_fastdds_loads_the_profile_and_maps_a_64_mib_segment():
    pytest.importorskip("rclpy")
    with_profile, stderr = probe(True)
    assert "XMLPARSER" not in stderr and "Error" not in stderr, stderr
    assert max(with_profile["segments"]) >= 64 * MIB
    without, _ = probe(False)
    assert max(without["segments"]) < 64 * MIB  # FastDDS's default: 512 KiB + overhead
    # Our UDPv4 transport is whitelisted to 127.0.0.1: its sockets are bound there (0100007F).
    # (rmw_fastrtps adds its own default UDP transport in LOCALHOST mode; that one is the
    # default behaviour, checked with tcpdump to send nothing out of eth0: docs/ros.md.)
    assert sum(addr.startswith("0100007F:") for addr in with_profile["udp_local"]) >= 2
    assert not any(addr.startswith("0100007F:") for addr in without["udp_local"])


@pytest.mark.ros
def test_apply_dds_profile_before_rclpy_init_works_in_process():
    # What rain_seg_bringup does: its nodes run in-process, so the variable is set in os.environ
    # before rclpy.init(); FastDDS reads it at the first participant.
    pytest.importorskip("rclpy")
    prelude = "from rain_seg_ros.dds_env import apply_dds_profile\napply_dds_profile('probe')\n"
    applied, _ = probe(False, prelude)
    assert max(applied["segments"]) >= 64 * MIB


def test_profile_keeps_udp_on_loopback_and_names_no_remote_peer():
    root = ET.parse(PROFILE).getroot()
    ns = {"f": root.tag.partition("}")[0].lstrip("{")} if root.tag.startswith("{") else {}
    prefix = "f:" if ns else ""
    descriptors = root.findall(f".//{prefix}transport_descriptor", ns)
    kinds = {d.findtext(f"{prefix}type", namespaces=ns): d for d in descriptors}
    assert set(kinds) == {"SHM", "UDPv4"}
    assert int(kinds["SHM"].findtext(f"{prefix}segment_size", namespaces=ns)) == 64 * MIB
    allowed = [a.text for a in kinds["UDPv4"].findall(f".//{prefix}interfaceWhiteList/{prefix}address", ns)]
    assert allowed == ["127.0.0.1"]
    assert root.findtext(f".//{prefix}useBuiltinTransports", namespaces=ns) == "false"
    text = PROFILE.read_text()
    for forbidden in ("initialPeersList", "metatrafficMulticastLocatorList", "TCPv4", "UDPv6", "239."):
        assert forbidden not in text, forbidden


def test_setup_installs_the_profile_where_dds_env_looks_for_it(monkeypatch: pytest.MonkeyPatch):
    # dds_env.shipped_profile() looks in <prefix>/share/rain_seg_ros/config/ of an install
    # (tests/rain_seg_ros/test_dds_env.py checks that lookup).
    from distutils.core import run_setup  # setuptools' copy (its .pth hook), also on 3.12+

    monkeypatch.chdir(ROOT)
    dist = run_setup(str(ROOT / "setup.py"), stop_after="init")
    installed = {dest: files for dest, files in dist.data_files}
    assert "config/fastdds_shm.xml" in installed["share/rain_seg_ros/config"]


def test_demo_records_the_profile_with_its_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import importlib.util

    for name in PROFILE_VARS:
        monkeypatch.delenv(name, raising=False)
    spec = importlib.util.spec_from_file_location("demo_script", ROOT / "scripts" / "demo.py")
    assert spec is not None and spec.loader is not None
    demo = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "demo_script", demo)  # dataclasses look the module up there
    spec.loader.exec_module(demo)
    commands = demo.Demo(tmp_path).log.read_text()
    assert f"FASTDDS_DEFAULT_PROFILES_FILE={PROFILE}" in commands


def test_launch_file_sets_the_profile_before_its_nodes():
    # launch/launch_ros are not installable here (docs/ros.md): check the file's structure.
    import ast

    tree = ast.parse((ROOT / "launch" / "perception.launch.py").read_text())
    calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert {"dds_profile_env", "SetEnvironmentVariable"} <= calls
    description = next(n for n in ast.walk(tree) if isinstance(n, ast.Call)
                       and getattr(n.func, "id", None) == "LaunchDescription")
    items = [ast.unparse(e) for e in description.args[0].elts]
    assert items.index("*dds_profile") < min(items.index(n) for n in ("weather_node", "seg_on_camera"))
