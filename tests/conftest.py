"""Suite-wide set-up: DDS stays on loopback in every test process, each on its own domain."""

from __future__ import annotations

import os

from rain_seg_ros.dds_env import loopback_dds_env

# Must be set before rclpy is imported anywhere in the process: FastDDS reads them at init.
# Subprocesses the tests start inherit them through os.environ.
os.environ.update(loopback_dds_env())
_worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").lstrip("gw") or "0"
os.environ["ROS_DOMAIN_ID"] = str(100 + (os.getpid() + int(_worker)) % 90)
os.environ.setdefault("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp")
