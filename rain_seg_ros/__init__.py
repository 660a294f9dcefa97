"""rain_seg_ros: rain- and night-robust semantic segmentation, ROS 2 runtime.

The package's core (labels, artifacts, backends, codec, pre/post-processing) imports
without ROS; only the node modules import rclpy.
"""

__version__ = "0.1.0"
