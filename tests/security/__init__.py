"""Hostile inputs: crafted model files, image bombs, pickles, YAML tags, truncated files."""
