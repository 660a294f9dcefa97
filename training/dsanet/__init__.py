"""DSANet: training step and loop, the Python API (derain / rainify) and the rain-code bank."""
