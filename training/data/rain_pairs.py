"""Synthetic rain/clean pair sets stored as two images per pair: Rain100H/L, Rain1400, any paired folder.

Rain100H / Rain100L (JORDER, Yang et al. 2017, http://www.icst.pku.edu.cn/struct/Projects/joint_rain_removal.html):
    official: rain_data_<train|test>_<Heavy|Light>/rain/X2/norain-<k>x2.png + norain/norain-<k>.png
    also accepted: <dir>/rain/rain-<k>.png or <dir>/rainy/rain-<k>.png (+ norain/norain-<k>.png; the
    generate-scenes layout OUT/rain_pairs/<split>/...), rain/norain-<k>x2.png without X2/, and
    PReNet's flat folders (RainTrainH, Rain100H: rain-<k>.png next to norain-<k>.png), and
    MPRNet/Restormer's <dir>/input/<name> + <dir>/target/<name> (same file names; rain-<k> /
    norain-<k> names pair by k).
    <dir> is looked up as ROOT/<split>, ROOT/rain_pairs/<split>, ROOT/rain_data_<split>_<Heavy|Light>,
    PReNet's ROOT/<RainTrainH|Rain100H> and ROOT/<train|test>/<RainTrainH|Rain100H> (its
    `datasets/` folder), ROOT/<split>/rain_data_<split>_<Heavy|Light>, then ROOT itself.
Rain1400 (DDN, Fu et al. 2017; 14 rainy versions of each clean image):
    ROOT/[rainy_image_dataset/]<training|testing>/rainy_image/<k>_<j>.jpg + ground_truth/<k>.jpg
Paired folder: ROOT/[<split>/]<rainy dir>/<name>.<ext> + <clean dir>/<name>.<ext>, matched by file stem;
    rainy dir one of input, rain, rainy, data (or rainy_dir=...), clean dir one of target, norain,
    gt, clean, label (or clean_dir=...). MPRNet-style Test100/Test1200/Rain13K folders load this way.

Example:
    ds = build_dataset("rain100h", "/data/rain100h", "train", crop_size=128)
"""

from __future__ import annotations

import re
from pathlib import Path

from training.data.base import DatasetLayoutError, PairItem, list_images

RAIN100_DIRS = {("train", "H"): ("rain_data_train_Heavy", "RainTrainH"),
                ("test", "H"): ("rain_data_test_Heavy", "Rain100H"),
                ("train", "L"): ("rain_data_train_Light", "RainTrainL"),
                ("test", "L"): ("rain_data_test_Light", "Rain100L")}
_RAINY = re.compile(r"^(?:no)?rain-(\d+)(?:x2)?$", re.IGNORECASE)
_FLAT_RAINY = re.compile(r"^rain-(\d+)$", re.IGNORECASE)
_CLEAN = re.compile(r"^norain-(\d+)$", re.IGNORECASE)


def _numbered(folder: Path, pattern: re.Pattern[str]) -> dict[int, Path]:
    found: dict[int, Path] = {}
    for path in list_images(folder):
        match = pattern.match(path.stem)
        if match:
            found[int(match.group(1))] = path
    return found


def _match_numbered(rainy: dict[int, Path], clean: dict[int, Path], where: str) -> list[PairItem]:
    missing = sorted(set(rainy) - set(clean))
    if missing:
        raise DatasetLayoutError(f"{where}: rainy image {rainy[missing[0]]} has no clean "
                                 f"norain-{missing[0]} ({len(missing)} unmatched)")
    return [PairItem(rainy=rainy[k], clean=clean[k], name=str(k)) for k in sorted(rainy)]


def _rain100_layout(folder: Path) -> list[PairItem] | None:
    """Pairs of one Rain100-style folder, or None when the folder does not look like one."""
    if (folder / "input").is_dir() and (folder / "target").is_dir():  # MPRNet / Restormer
        rainy = _numbered(folder / "input", _RAINY)
        if rainy:
            return _match_numbered(rainy, _numbered(folder / "target", _CLEAN), f"rain100 {folder}")
        return find_paired_folder(folder, "", "input", "target")
    clean_dir = folder / "norain"
    for sub in ("rain/X2", "rain", "rainy"):
        rainy_dir = folder / sub
        if rainy_dir.is_dir() and clean_dir.is_dir():
            rainy = _numbered(rainy_dir, _RAINY)
            if rainy:
                return _match_numbered(rainy, _numbered(clean_dir, _CLEAN), f"rain100 {folder}")
    rainy = _numbered(folder, _FLAT_RAINY) if folder.is_dir() else {}
    if rainy:
        return _match_numbered(rainy, _numbered(folder, _CLEAN), f"rain100 {folder}")
    return None


def find_rain100(root: Path, split: str, heavy: bool = True) -> list[PairItem]:
    official, prenet = RAIN100_DIRS.get((split, "H" if heavy else "L"), ("", ""))
    candidates = [root / split, root / "rain_pairs" / split]
    candidates += [base / name for base in (root, root / split) for name in (official, prenet) if name]
    candidates.append(root)
    for folder in candidates:
        items = _rain100_layout(folder)
        if items is not None:
            return items
    raise DatasetLayoutError(
        f"rain100{'h' if heavy else 'l'}: no rain/rain-<k>.png (or rain/X2/norain-<k>x2.png, rainy/...) "
        f"with norain/norain-<k>.png, nor flat rain-<k>.png + norain-<k>.png, nor input/ + target/, "
        f"in any of "
        + ", ".join(str(c) for c in candidates))


def find_rain1400(root: Path, split: str) -> list[PairItem]:
    names = {"train": ("training", "train"), "test": ("testing", "test")}.get(split)
    if names is None:
        raise ValueError(f"rain1400 splits are train/test, got {split!r}")
    bases = [root, root / "rainy_image_dataset"]
    candidates = [b / n for b in bases for n in names] + bases
    folder = next((c for c in candidates if (c / "rainy_image").is_dir()), None)
    if folder is None:
        raise DatasetLayoutError("rain1400: expected <dir>/rainy_image/<k>_<j>.jpg + "
                                 "<dir>/ground_truth/<k>.jpg with <dir> one of "
                                 + ", ".join(str(c) for c in candidates))
    clean_dir = folder / "ground_truth"
    if not clean_dir.is_dir():
        raise DatasetLayoutError(f"rain1400: expected clean images in {clean_dir}; directory missing")
    clean = {p.stem: p for p in list_images(clean_dir)}
    items = []
    for rainy in list_images(folder / "rainy_image"):
        match = re.match(r"^(\d+)_(\d+)$", rainy.stem)
        if match is None:
            continue
        if match.group(1) not in clean:
            raise DatasetLayoutError(f"rain1400: rainy {rainy} has no clean {clean_dir}/{match.group(1)}.jpg")
        items.append(PairItem(rainy=rainy, clean=clean[match.group(1)], name=rainy.stem,))
    if not items:
        raise DatasetLayoutError(f"rain1400: no <k>_<j>.jpg images in {folder / 'rainy_image'}")
    # Sort numerically (1_2 before 1_10, 2_1 after 1_14) so that indices are stable and readable.
    return sorted(items, key=lambda it: tuple(int(x) for x in it.name.split("_")))


RAINY_DIRS = ("input", "rain", "rainy", "data")
CLEAN_DIRS = ("target", "norain", "gt", "clean", "label")


def find_paired_folder(root: Path, split: str, rainy_dir: str | None = None,
                       clean_dir: str | None = None) -> list[PairItem]:
    bases = [root / split, root] if (root / split).is_dir() else [root]
    for base in bases:
        rainy_names = [rainy_dir] if rainy_dir else [d for d in RAINY_DIRS if (base / d).is_dir()]
        clean_names = [clean_dir] if clean_dir else [d for d in CLEAN_DIRS if (base / d).is_dir()]
        if rainy_names and clean_names and (base / rainy_names[0]).is_dir():
            break
    else:
        raise DatasetLayoutError(
            f"paired_folder: expected {root}/[{split}/]<rainy>/ and <clean>/ with rainy one of {RAINY_DIRS} "
            f"and clean one of {CLEAN_DIRS} (or pass rainy_dir=/clean_dir=)")
    rainy_path, clean_path = base / rainy_names[0], base / clean_names[0]
    if not clean_path.is_dir():
        raise DatasetLayoutError(f"paired_folder: clean directory {clean_path} does not exist")
    clean = {p.stem: p for p in list_images(clean_path)}
    rainy = list_images(rainy_path)
    if not rainy:
        raise DatasetLayoutError(f"paired_folder: no images in {rainy_path}")
    missing = [p for p in rainy if p.stem not in clean]
    if missing:
        raise DatasetLayoutError(f"paired_folder: {missing[0]} has no image of the same name in "
                                 f"{clean_path} ({len(missing)} unmatched)")
    return [PairItem(rainy=p, clean=clean[p.stem], name=p.stem) for p in rainy]
