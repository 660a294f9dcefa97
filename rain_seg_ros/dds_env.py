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
"""

from __future__ import annotations

import os

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
