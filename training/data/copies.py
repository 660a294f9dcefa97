"""Derived copies of a labelled dataset in its own layout (`rainify`, `translate`): the caller
rewrites the images, everything else (labels, lists) is copied byte for byte, and a manifest of
JSON lines makes a run resumable.

Example:
    images, others = dataset_files(root, out)
    counts = {"copied": copy_others(others, root, out)}
    done = resume_manifest(out / "manifest.jsonl")       # outputs already logged
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from training.dsanet.io import IMAGE_SUFFIXES
from training.engine.logging import read_jsonl


def detect_layout(root: Path) -> tuple[str, list[Path]]:
    """(layout name, image directories to rewrite) of a dataset root."""
    if (root / "leftImg8bit").is_dir():
        return "cityscapes", [root / "leftImg8bit"]
    kitti = sorted(p for p in root.rglob("image_2") if p.is_dir())
    if kitti:
        return "kitti", kitti
    if (root / "images").is_dir():
        return "folder", [root / "images"]
    raise ValueError(f"{root}: unknown layout; expected leftImg8bit/ (Cityscapes), */image_2/ (KITTI) "
                     f"or images/ (+ labels copied as they are)")


def dataset_files(root: Path, out: Path) -> tuple[list[Path], list[Path]]:
    """(images under the layout's image folders, every other file) of the dataset at root, sorted.

    Raises:
        ValueError: out inside root, or no image in the image folders.
    """
    if out == root or root in out.parents:
        raise ValueError(f"--out {out} must not be inside --images {root}")
    _, image_dirs = detect_layout(root)
    images: list[Path] = []
    others: list[Path] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        in_image_dir = any(d in path.parents for d in image_dirs)
        (images if in_image_dir and path.suffix.lower() in IMAGE_SUFFIXES else others).append(path)
    if not images:
        raise ValueError(f"--images {root}: no images under {', '.join(map(str, image_dirs))}")
    return images, others


def copy_others(others: list[Path], root: Path, out: Path) -> int:
    """Copy each file to the same place under out unless a copy of its size is there; the count."""
    copied = 0
    for path in others:
        dst = out / path.relative_to(root)
        if not dst.exists() or dst.stat().st_size != path.stat().st_size:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dst)
            copied += 1
    return copied


def resume_manifest(manifest: Path) -> set[str]:
    """Outputs the manifest already records. A run killed mid-write may leave a cut last line:
    read_jsonl drops it (with a warning) and the manifest is rewritten whole before new lines
    are appended."""
    if not manifest.exists():
        return set()
    records = read_jsonl(manifest)
    manifest.write_text("".join(json.dumps(r) + "\n" for r in records))
    return {str(r.get("output")) for r in records}
