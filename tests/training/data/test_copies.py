"""Shared copy helpers of rainify / translate: layout split, byte copies, resumable manifest."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from training.data.copies import copy_others, dataset_files, resume_manifest


def _folder(root):
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    for i in range(2):
        Image.fromarray(np.full((4, 6, 3), i, np.uint8)).save(root / "images" / f"{i}.png")
        Image.fromarray(np.full((4, 6), i, np.uint8)).save(root / "labels" / f"{i}.png")
    (root / "list.txt").write_text("0\n1\n")
    return root


def test_images_are_split_from_what_is_copied_byte_for_byte(tmp_path):
    root, out = _folder(tmp_path / "src"), tmp_path / "out"
    images, others = dataset_files(root, out)
    assert [p.relative_to(root).as_posix() for p in images] == ["images/0.png", "images/1.png"]
    assert [p.relative_to(root).as_posix() for p in others] == ["labels/0.png", "labels/1.png", "list.txt"]
    assert copy_others(others, root, out) == 3 and copy_others(others, root, out) == 0   # once only
    assert (out / "labels" / "1.png").read_bytes() == (root / "labels" / "1.png").read_bytes()
    with pytest.raises(ValueError, match="must not be inside"):
        dataset_files(root, root / "out")


def test_a_manifest_cut_mid_line_resumes_and_is_rewritten_whole(tmp_path):
    manifest = tmp_path / "manifest.jsonl"
    assert resume_manifest(manifest) == set()
    manifest.write_text(json.dumps({"output": "images/0.png"}) + "\n" + '{"output": "images/1.p')
    assert resume_manifest(manifest) == {"images/0.png"}            # the cut line is dropped
    assert [json.loads(ln) for ln in manifest.read_text().splitlines()] == [{"output": "images/0.png"}]
