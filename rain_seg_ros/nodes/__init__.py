"""ROS 2 nodes (the only modules of rain_seg_ros that import rclpy, besides replay)."""
