"""Pairing prediction files with ground-truth files by name, and reading them, for the evaluate-* commands.

Matching rules ("auto", the default, applies them in this order):
- stem: a ground-truth file's key is its stem minus `gt_suffix` (Cityscapes:
  `aachen_000000_000019_gtFine_labelTrainIds.png` -> `aachen_000000_000019`). A prediction
  matches the key equal to its stem minus `pred_suffix`; without `pred_suffix` it matches its
  stem or, failing that, the longest key it starts with followed by "_", "-" or "."
  (`aachen_000000_000019_leftImg8bit.png` matches, `img_10.png` never matches `img_1`).
- rain100: Rain100H/L names (JORDER's release and PReNet's copies). The references are
  `norain-<k>`; the rainy inputs, and derained outputs named after them, are `rain-<k>` or the
  release's `norain-<k>x2` ("x2" is part of the name, not a number): all three carry key k,
  leading zeros ignored (`rain-001` = `norain-1`). Rainy names in the ground-truth folder
  (PReNet keeps `rain-<k>.png` next to `norain-<k>.png`) are inputs, never references.
- "number" (only when asked for, never a fallback): the last integer in the name.
A ground-truth file claimed by two predictions is an error, except when `shared_gt` allows it
and every claim is a prefix match (Rain1400: `1_1.jpg` .. `1_14.jpg` for `1.jpg`).
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
MATCH_MODES = ("auto", "stem", "rain100", "number")
_SEPARATORS = ("_", "-", ".")
_LAST_NUMBER = re.compile(r"(\d+)(?!.*\d)")
_RAIN100 = re.compile(r"^(no)?rain-0*(\d+)(x2)?$", re.IGNORECASE)


@dataclass
class Matching:
    pairs: list[tuple[Path, Path]] = field(default_factory=list)  # (prediction, ground truth)
    unmatched_pred: list[Path] = field(default_factory=list)
    unmatched_gt: list[Path] = field(default_factory=list)
    mode: str = "stem"  # the rules that made the pairs, e.g. "stem", "rain100", "stem+rain100"


def list_files(root: str | Path, extensions: Iterable[str]) -> list[Path]:
    """All files under `root` (recursively) with one of `extensions` (lower-case, with dot), sorted."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"not a directory: {root}")
    exts = tuple(extensions)
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in exts)


def rain100_number(stem: str) -> tuple[int, bool] | None:
    """(k, is_reference) of a Rain100H/L name: `norain-k` is the reference, `rain-k` and
    `norain-kx2` are rainy inputs (or outputs named after them); None for other names."""
    m = _RAIN100.match(stem)
    if m is None:
        return None
    return int(m.group(2)), bool(m.group(1)) and not m.group(3)


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
                 pred_suffix: str | None) -> dict[Path, tuple[str, str]]:
    """Prediction file -> (ground-truth key, "exact" | "prefix"), for those that match one."""
    found: dict[Path, tuple[str, str]] = {}
    keys_longest_first = sorted(gt_by_key, key=len, reverse=True)
    for f in pred_files:
        if pred_suffix is not None:
            k = _strip(f.stem, pred_suffix)
            if k is not None and k in gt_by_key:
                found[f] = (k, "exact")
            continue
        if f.stem in gt_by_key:
            found[f] = (f.stem, "exact")
            continue
        for k in keys_longest_first:
            if f.stem.startswith(k) and f.stem[len(k)] in _SEPARATORS:
                found[f] = (k, "prefix")
                break
    return found


def _match_rule(pred_files: list[Path], gt_files: list[Path], rule: str,
                pred_suffix: str | None) -> tuple[dict[Path, tuple[str, str]], dict[str, Path]]:
    """Pairs by the "rain100" or "number" rule; keys are prefixed so they never meet stem keys."""
    def key(p: Path, side: str) -> str | None:
        stem = p.stem if side == "gt" else _strip(p.stem, pred_suffix or "")
        if stem is None:
            return None
        if rule == "rain100":
            found = rain100_number(stem)
            # Only `norain-k` is a reference; a prediction may carry any of the three names.
            return f"rain100:{found[0]}" if found and (found[1] or side == "pred") else None
        m = _LAST_NUMBER.search(stem)
        return f"number:{int(m.group(1))}" if m else None

    gt_keys = {f: k for f in gt_files if (k := key(f, "gt")) is not None}
    gt_by_key = _unique_keys(list(gt_keys), gt_keys, "ground-truth")
    found = {f: (k, rule) for f in pred_files if (k := key(f, "pred")) is not None and k in gt_by_key}
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
        mode: "auto" (stem, then rain100), "stem", "rain100" or "number".
        shared_gt: let several predictions pair with one ground-truth file by prefix (Rain1400
            has 14 rainy versions of each clean image); otherwise that is an error.

    Raises:
        ValueError: when two files of one side share a key or several predictions claim one
            ground-truth file (the message names them).
    """
    if mode not in MATCH_MODES:
        raise ValueError(f"unknown matching mode {mode!r}; known: {', '.join(MATCH_MODES)}")
    # Files without the given suffixes are other products (colour masks, labelIds): not candidates.
    gt_files = [f for f in gt_files if _strip(f.stem, gt_suffix) is not None]
    pred_files = [f for f in pred_files if _strip(f.stem, pred_suffix or "") is not None]
    rain100 = {f: rain100_number(f.stem) for f in gt_files}
    if any(r is not None and r[1] for r in rain100.values()):
        # A Rain100 folder with references: its rainy images are inputs (PReNet's flat folders).
        gt_files = [f for f in gt_files if (r := rain100[f]) is None or r[1]]
    found: dict[Path, tuple[str, str]] = {}
    gt_by_key: dict[str, Path] = {}
    if mode in ("auto", "stem"):
        keys = {f: k for f in gt_files if (k := _strip(f.stem, gt_suffix)) is not None}
        gt_by_key = _unique_keys(gt_files, keys, "ground-truth")
        found = _match_stems(pred_files, gt_by_key, pred_suffix)
    rule = {"auto": "rain100", "rain100": "rain100", "number": "number"}.get(mode)
    left = [f for f in pred_files if f not in found]
    if rule and left:
        rule_found, rule_gt = _match_rule(left, gt_files, rule, pred_suffix)
        # A reference already claimed by stem keeps that name: the rule only pairs the rest.
        stem_claimed = {gt_by_key[k] for k, _ in found.values()}
        for f, (k, kind) in rule_found.items():
            if rule_gt[k] not in stem_claimed:
                found[f] = (k, kind)
        gt_by_key.update(rule_gt)
    claimed: dict[str, list[Path]] = {}
    for f, (k, _) in found.items():
        claimed.setdefault(k, []).append(f)
    for k, files in claimed.items():
        shared = shared_gt and all(found[f][1] == "prefix" for f in files)
        if len(files) > 1 and not shared:
            raise ValueError(f"{len(files)} predictions match ground truth {gt_by_key[k]}: "
                             f"{', '.join(str(f) for f in files[:5])} "
                             "(use --pred-suffix to say which files are the predictions)")
    rules = {"exact": "stem", "prefix": "stem", "rain100": "rain100", "number": "number"}
    kinds = [r for r in ("stem", "rain100", "number") if r in {rules[kind] for _, kind in found.values()}]
    paired_gt = {gt_by_key[k] for k in claimed}
    all_gt = sorted(set(gt_by_key.values()) | set(gt_files))
    return Matching(
        pairs=[(f, gt_by_key[k]) for k in sorted(claimed, key=lambda k: str(gt_by_key[k]))
               for f in claimed[k]],
        unmatched_pred=[f for f in pred_files if f not in found],
        unmatched_gt=[f for f in all_gt if f not in paired_gt],
        mode="+".join(kinds) if kinds else ("stem" if mode == "auto" else mode),
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
