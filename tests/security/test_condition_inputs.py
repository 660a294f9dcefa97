"""Hostile inputs to the condition estimator's readers: refused with one line, nothing decoded."""

from __future__ import annotations

import pytest

from training.condition.data import MAX_IMAGE_PIXELS, read_bounded_rgb
from training.condition.sources import MAX_MANIFEST_LINE, find_condition_items
from training.data.base import DatasetContentError, DatasetLayoutError

from .image_builders import jpeg_declaring


def test_image_bomb_is_refused_from_its_header(tmp_path):
    side = int(MAX_IMAGE_PIXELS**0.5) + 100
    bomb = tmp_path / "clear.png"          # the extension lies (a JPEG); its header decides
    bomb.write_bytes(jpeg_declaring(side, side))   # 16x16 of data, a frame header claiming side x side
    with pytest.raises(DatasetContentError, match="above .* pixels; refusing it"):
        read_bounded_rgb(bomb)


def test_overlong_manifest_line_is_refused(tmp_path):
    pad = b"x" * (MAX_MANIFEST_LINE + 10)
    (tmp_path / "manifest.jsonl").write_bytes(b'{"split": "train", "pad": "' + pad + b'"}\n')
    with pytest.raises(DatasetLayoutError, match="line longer than"):
        find_condition_items("scenes", tmp_path, "train")
