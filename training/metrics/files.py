"""Pairing prediction files with ground-truth files by name, and reading them, for the evaluate-* commands.

Matching keys:
- "stem": a ground-truth file's key is its stem minus `gt_suffix` (Cityscapes:
  `aachen_000000_000019_gtFine_labelTrainIds.png` -> `aachen_000000_000019`). A prediction
  matches the key equal to its stem minus `pred_suffix`; without `pred_suffix` it matches its
  stem or, failing that, the longest key it starts with followed by "_", "-" or "."
  (`aachen_000000_000019_leftImg8bit.png` matches, `img_10.png` never matches `img_1`).
- "number": the last integer in the name (Rain100H: `rain-12.png` <-> `norain-12.png`).
- "auto": "stem", and "number" when no stem matches at all.
Files are searched recursively (Cityscapes keeps one folder per city).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

MASK_EXTENSIONS = (".png",)
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
_SEPARATORS = ("_", "-", ".")
_LAST_NUMBER = re.compile(r"(\d+)(?!.*\d)")


@dataclass
class Matching:
    pairs: list[tuple[Path, Path]] = field(default_factory=list)  # (prediction, ground truth)
    unmatched_pred: list[Path] = field(default_factory=list)
    unmatched_gt: list[Path] = field(default_factory=list)
    mode: str = "stem"


def list_files(root: str | Path, extensions: Iterable[str]) -> list[Path]:
    """All files under `root` (recursively) with one of `extensions` (lower-case, with dot), sorted."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"not a directory: {root}")
    exts = tuple(extensions)
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in exts)


def _strip(stem: str, suffix: str) -> str | None:
    if not suffix:
        return stem
    return stem[: -len(suffix)] if stem.endswith(suffix) and len(stem) > len(suffix) else None


def _unique_keys(files: list[Path], key_of: dict[Path, str], side: str) -> dict[str, Path]:
    by_key: dict[str, Path] = {}
    for f in files:
        k = key_of[f]
        if k in by_key:
            raise ValueError(f"two {side} files share the key {k!r}: {by_key[k]} and {f}")
        by_key[k] = f
    return by_key


def _match_stems(pred_files: list[Path], gt_by_key: dict[str, Path],
                 pred_suffix: str | None) -> dict[Path, str]:
    """Prediction file -> ground-truth key, for the predictions that match one."""
    found: dict[Path, str] = {}
    keys_longest_first = sorted(gt_by_key, key=len, reverse=True)
    for f in pred_files:
        if pred_suffix is not None:
            k = _strip(f.stem, pred_suffix)
            if k is not None and k in gt_by_key:
                found[f] = k
            continue
        if f.stem in gt_by_key:
            found[f] = f.stem
            continue
        for k in keys_longest_first:
            if f.stem.startswith(k) and f.stem[len(k)] in _SEPARATORS:
                found[f] = k
                break
    return found


def _match_numbers(pred_files: list[Path], gt_files: list[Path]) -> tuple[dict[Path, str], dict[str, Path]]:
    def number(p: Path) -> str | None:
        m = _LAST_NUMBER.search(p.stem)
        return str(int(m.group(1))) if m else None

    gt_num = {f: number(f) for f in gt_files}
    gt_by_key = _unique_keys([f for f in gt_files if gt_num[f] is not None],
                             {f: n for f, n in gt_num.items() if n is not None}, "ground-truth")
    found = {f: n for f in pred_files if (n := number(f)) is not None and n in gt_by_key}
    return found, gt_by_key


def match_files(pred_files: list[Path], gt_files: list[Path], *, gt_suffix: str = "",
                pred_suffix: str | None = None, mode: str = "auto",
                shared_gt: bool = False) -> Matching:
    """Pair predictions with ground truth by name (see the module docstring for the rules).

    Args:
        pred_files, gt_files: candidate files (e.g. from `list_files`).
        gt_suffix: stripped from ground-truth stems; ground-truth files without it are skipped.
        pred_suffix: if given, only predictions whose stem ends with it count, and their stem
            minus it must equal a ground-truth key.
        mode: "stem", "number" or "auto".
        shared_gt: let several predictions pair with one ground-truth file (Rain1400 has 14
            rainy versions of each clean image); otherwise that is an error.

    Raises:
        ValueError: when two files of one side share a key or two predictions claim one
            ground-truth file (the message names them).
    """
    if mode not in ("auto", "stem", "number"):
        raise ValueError(f"unknown matching mode {mode!r}")
    # Files without the given suffixes are other products (colour masks, labelIds): not candidates.
    gt_files = [f for f in gt_files if _strip(f.stem, gt_suffix) is not None]
    pred_files = [f for f in pred_files if _strip(f.stem, pred_suffix or "") is not None]
    if mode == "number":
        found, gt_by_key = _match_numbers(pred_files, gt_files)
    else:
        keys = {f: k for f in gt_files if (k := _strip(f.stem, gt_suffix)) is not None}
        gt_by_key = _unique_keys(gt_files, keys, "ground-truth")
        found = _match_stems(pred_files, gt_by_key, pred_suffix)
        used = "stem"
        if not found and mode == "auto":
            number_found, number_gt = _match_numbers(pred_files, gt_files)
            if number_found:
                found, gt_by_key, used = number_found, number_gt, "number"
        mode = used
    claimed: dict[str, list[Path]] = {}
    for f, k in found.items():
        if k in claimed and not shared_gt:
            raise ValueError(f"two predictions match ground truth {gt_by_key[k]}: {claimed[k][0]} and {f} "
                             "(use --pred-suffix to say which files are the predictions)")
        claimed.setdefault(k, []).append(f)
    return Matching(
        pairs=[(f, gt_by_key[k]) for k in sorted(claimed) for f in claimed[k]],
        unmatched_pred=[f for f in pred_files if f not in found],
        unmatched_gt=[f for k, f in sorted(gt_by_key.items()) if k not in claimed],
        mode=mode,
    )


def read_label_png(path: Path) -> np.ndarray:
    """Class-id image (H, W) from a single-channel PNG (L, P palette indices, or 16-bit)."""
    with Image.open(path) as im:
        if im.mode not in ("L", "P", "I", "I;16", "I;16B", "I;16L"):
            raise ValueError(f"{path}: mode {im.mode} is not a single-channel class-id image "
                             "(a colour visualisation?)")
        return np.asarray(im)


def read_rgb_image(path: Path) -> np.ndarray:
    """(H, W, 3) uint8 RGB from an 8-bit image file (greyscale and palette images are expanded)."""
    with Image.open(path) as im:
        if im.mode not in ("RGB", "RGBA", "L", "P", "LA", "PA"):
            raise ValueError(f"{path}: mode {im.mode} is not an 8-bit image")
        return np.asarray(im.convert("RGB"))


def describe_unmatched(files: list[Path], side: str, limit: int = 5) -> str:
    """One line naming up to `limit` unmatched files."""
    names = ", ".join(str(f) for f in files[:limit])
    more = f" and {len(files) - limit} more" if len(files) > limit else ""
    return f"{len(files)} {side} file(s) without a match: {names}{more}"
