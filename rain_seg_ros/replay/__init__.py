"""Replay evaluation: play a rosbag2 through the running graph and score its masks."""
