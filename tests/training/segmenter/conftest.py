"""Fixtures of the segmenter tests: a tiny Cityscapes tree (one torch thread: tests/training/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .layouts import write_cityscapes


@pytest.fixture
def tiny_cityscapes(tmp_path: Path) -> Path:
    root = tmp_path / "cityscapes"
    write_cityscapes(root, "train", 8, seed=0)
    write_cityscapes(root, "val", 3, seed=1)
    return root
