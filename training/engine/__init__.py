"""Shared training machinery: config resolution, checkpoints, distributed set-up, logging."""
