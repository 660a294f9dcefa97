"""Environment that keeps DDS discovery on this machine, for every process that starts ROS
(tests, demo, benchmarks). Imports nothing from ROS, so it can run before rclpy loads.

    >>> loopback_dds_env("humble")
    {'ROS_AUTOMATIC_DISCOVERY_RANGE': 'LOCALHOST', 'ROS_LOCALHOST_ONLY': '1'}
    >>> loopback_dds_env("kilted")
    {'ROS_AUTOMATIC_DISCOVERY_RANGE': 'LOCALHOST'}

Why per distro: ROS_AUTOMATIC_DISCOVERY_RANGE arrived in Iron (ros2/rcl#1023); Humble and
older ignore it and only honour ROS_LOCALHOST_ONLY=1, so without it they multicast out of
the NIC. From Iron, rcl logs "ROS_LOCALHOST_ONLY is deprecated" on every node start when it
is set (and then ignores the discovery range); Kilted's librcl no longer reads it at all.
So ROS_LOCALHOST_ONLY is set only where it is the one knob that works.

Large frames: `dds_profile_env()` points FastDDS at config/fastdds_shm.xml (64 MiB shared-memory
segment instead of 512 KiB; why and measurements in that file and docs/benchmarks/transport.md),
or at the user's own profile when FASTDDS_DEFAULT_PROFILES_FILE / FASTRTPS_DEFAULT_PROFILES_FILE
is already set. The launch file, the bringup and `make demo` use it; `dds_env()` adds the
loopback variables for the processes this project starts on a development machine. FastDDS
reads the variable when the process's first participant is created, so set it before
`rclpy.init()` / the first node.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

# Distros whose rcl predates ROS_AUTOMATIC_DISCOVERY_RANGE (keep in step with the Makefile).
LOCALHOST_ONLY_DISTROS = frozenset(
    {"ardent", "bouncy", "crystal", "dashing", "eloquent", "foxy", "galactic", "humble"})


def loopback_dds_env(distro: str | None = None) -> dict[str, str]:
    """Variables to export so that DDS stays on loopback.

    Args:
        distro: ROS_DISTRO name; default: the environment's (unset = the pip wheels, Kilted).
    Returns:
        name -> value, for os.environ or a subprocess env.
    """
    name = (os.environ.get("ROS_DISTRO", "") if distro is None else distro).strip().lower()
    env = {"ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST"}
    if name in LOCALHOST_ONLY_DISTROS:
        env["ROS_LOCALHOST_ONLY"] = "1"
    return env


# Fast DDS 3.x (Kilted on) reads FASTDDS_DEFAULT_PROFILES_FILE; 2.x (Jazzy and older) only
# FASTRTPS_DEFAULT_PROFILES_FILE, which Kilted's rmw still reads but with a deprecation warning
# per participant, so it is set only where it is the one that works.
PROFILE_VARS = ("FASTDDS_DEFAULT_PROFILES_FILE", "FASTRTPS_DEFAULT_PROFILES_FILE")
FASTDDS2_DISTROS = LOCALHOST_ONLY_DISTROS | {"iron", "jazzy"}
PROFILE_NAME = "fastdds_shm.xml"
PACKAGE = "rain_seg_ros"


def shipped_profile() -> Path:
    """The profile from a checkout (config/) or an install (share/rain_seg_ros/config/).

    Raises:
        FileNotFoundError: neither is there.
    """
    here = Path(__file__).resolve().parent
    checkout = here.parent / "config" / PROFILE_NAME
    if checkout.is_file():
        return checkout
    # Installed: <prefix>/lib/pythonX.Y/site-packages/rain_seg_ros/ next to <prefix>/share/rain_seg_ros/.
    for prefix in here.parents:
        installed = prefix / "share" / PACKAGE / "config" / PROFILE_NAME
        if installed.is_file():
            return installed
    raise FileNotFoundError(f"FastDDS profile {PROFILE_NAME} is not in {checkout.parent} nor in "
                            f"share/{PACKAGE}/config of this install; reinstall {PACKAGE} or set "
                            f"{PROFILE_VARS[0]} to a profile of your own")


def dds_profile_env(distro: str | None = None, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """FastDDS profile variables: the user's own profile if one is set, else the shipped one.

    Args:
        distro: ROS_DISTRO name; default: the environment's (unset = the pip wheels, Kilted).
        environ: where to look for a user's profile; default os.environ.
    Returns:
        the profile variable(s) this distro's FastDDS reads -> the shipped profile; or, when
        the user set one, their values unchanged.
    Raises:
        FileNotFoundError: the user's profile or the shipped one does not exist (one line).
    """
    environ = os.environ if environ is None else environ
    own = {name: environ[name].strip() for name in PROFILE_VARS if environ.get(name, "").strip()}
    for name, path in own.items():
        if not Path(path).is_file():
            raise FileNotFoundError(f"{name}={path} does not exist; point it at a FastDDS XML profile "
                                    f"or unset it to use {PACKAGE}'s {PROFILE_NAME}")
    if own:
        return own
    name = (environ.get("ROS_DISTRO", "") if distro is None else distro).strip().lower()
    names = PROFILE_VARS if name in FASTDDS2_DISTROS else PROFILE_VARS[:1]
    path = str(shipped_profile())
    return {var: path for var in names}


def dds_env(distro: str | None = None, profile: bool = True,
            environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Everything a ROS process this project starts here needs: loopback + the FastDDS profile.

    Args:
        distro: as for loopback_dds_env.
        profile: False leaves FastDDS at its defaults (the benchmark's "off" rows).
        environ: as for dds_profile_env.
    """
    env = loopback_dds_env(distro)
    if profile:
        env.update(dds_profile_env(distro, environ))
    return env


def apply_dds_profile(prog: str) -> dict[str, str]:
    """Put the profile variables into this process's environment; call before rclpy.init().

    For entry points that start nodes in-process (rain_seg_bringup). A missing profile file
    exits with one line: "<prog>: FASTDDS_DEFAULT_PROFILES_FILE=... does not exist; ...".
    """
    try:
        env = dds_profile_env()
    except FileNotFoundError as err:
        raise SystemExit(f"{prog}: {err}") from None
    os.environ.update(env)
    return env
