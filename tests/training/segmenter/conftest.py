"""Fixtures of the segmenter tests: a tiny Cityscapes tree, one torch thread."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from .layouts import write_cityscapes


@pytest.fixture
def tiny_cityscapes(tmp_path: Path) -> Path:
    root = tmp_path / "cityscapes"
    write_cityscapes(root, "train", 8, seed=0)
    write_cityscapes(root, "val", 3, seed=1)
    return root


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny models on a shared 2-core machine run several times faster on one thread."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
