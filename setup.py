"""ament_python packaging of the runtime (`colcon build` on a ROS 2 machine).

Only the runtime package `rain_seg_ros` is installed; `training/` and `export/` are offline
tools run from a checkout (`python -m training`, `python -m export`).
"""

from glob import glob

from setuptools import find_packages, setup

PACKAGE = "rain_seg_ros"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(include=[PACKAGE, f"{PACKAGE}.*"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.launch.py")),
        # params files and the FastDDS profile (config/fastdds_shm.xml, found by rain_seg_ros.dds_env)
        (f"share/{PACKAGE}/config", glob("config/*.yaml") + glob("config/*.xml")),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="rain_seg_ros maintainers",
    maintainer_email="perception@rain-seg-ros.dev",
    description="Rain- and night-robust semantic segmentation nodes for ROS 2",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            # name = module:function; every module named here exists in rain_seg_ros/.
            "segmentation_node = rain_seg_ros.nodes.segmentation_node:main",
            "weather_node = rain_seg_ros.nodes.weather_node:main",
            "rain_seg_bringup = rain_seg_ros.nodes.bringup:main",
            "replay_eval = rain_seg_ros.replay.replay_eval:main",
        ],
    },
)
