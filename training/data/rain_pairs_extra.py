"""Rain pairs stored side by side (DID-MDN Rain1200 / Test1200, ID-CGAN Test100) and SPA-Data.

Rain1200 (DID-MDN, Zhang & Patel 2018, https://github.com/hezhangsprinter/DID-MDN): every file is
one 2W x H image, rainy LEFT half, clean RIGHT half (its loaders crop imgA = (0, 0, w/2, h) as the
network input and imgB = (w/2, 0, w, h) as the target).
    train: ROOT/[DID-MDN-training/]Rain_<Heavy|Medium|Light>/train2018new/<k>.jpg   (density=...)
    test (= Test1200): ROOT/DID-MDN-test/<k>.jpg, ROOT/test/<k>.jpg, or ROOT itself
Test100 (ID-CGAN's synthetic test set, Zhang et al. 2017): pix2pix-style side-by-side files; ID-CGAN
trains with which_direction=BtoA, i.e. the rainy input is the RIGHT half (override with rainy_side=).
Both test sets also load from MPRNet's re-packaged form ROOT/input/ + ROOT/target/.
SPA-Data (Wang et al. 2019, https://github.com/stevewongv/SPANet): real rain with clean estimates.
    list files: real_world.txt (train), real_test_1000.txt (test); each line "<rainy path> <clean path>",
    paths relative to the list's folder or ROOT (a leading "/" or "./" is ignored);
    without a list file: <name>.png next to <name>gt.png (or <name>_gt.png) anywhere under ROOT/[<split>/].
"""

from __future__ import annotations

from pathlib import Path

from training.data.base import IMAGE_SUFFIXES, DatasetLayoutError, PairItem, list_images
from training.data.rain_pairs import find_paired_folder

DENSITIES = ("heavy", "medium", "light")


def side_by_side_items(folder: Path, rainy_side: str) -> list[PairItem]:
    if rainy_side not in ("left", "right"):
        raise ValueError(f"rainy_side must be 'left' or 'right', got {rainy_side!r}")
    clean_side = "right" if rainy_side == "left" else "left"
    files = list_images(folder)
    if not files:
        raise DatasetLayoutError(f"side-by-side pairs: no images in {folder}")
    # Numeric names (DID-MDN: 0.jpg .. 1199.jpg) sort numerically, others by name.
    files.sort(key=lambda p: (0, int(p.stem), "") if p.stem.isdigit() else (1, 0, p.stem))
    return [PairItem(rainy=p, clean=p, name=p.stem, rainy_half=rainy_side, clean_half=clean_side)
            for p in files]


def find_rain1200(root: Path, split: str, density: str | None = None, rainy_side: str = "left"
                  ) -> list[PairItem]:
    if split == "train":
        chosen = DENSITIES if density is None else (density,)
        if any(d not in DENSITIES for d in chosen):
            raise ValueError(f"rain1200 density is one of {DENSITIES} or None, got {density!r}")
        items: list[PairItem] = []
        for d in chosen:
            sub = f"Rain_{d.capitalize()}"
            options = (root / "DID-MDN-training" / sub / "train2018new", root / sub / "train2018new")
            folder = next((c for c in options if c.is_dir()), None)
            if folder is None:
                raise DatasetLayoutError(f"rain1200: expected {root}/[DID-MDN-training/]{sub}/"
                                         "train2018new/*.jpg; directory missing")
            items += [PairItem(rainy=it.rainy, clean=it.clean, name=f"{d}/{it.name}",
                               rainy_half=it.rainy_half, clean_half=it.clean_half)
                      for it in side_by_side_items(folder, rainy_side)]
        return items
    if split == "test":
        return find_side_by_side_test(root, ("DID-MDN-test", "DID-MDN-datasets/DID-MDN-test", "test"),
                                      rainy_side, "rain1200/test1200")
    raise ValueError(f"rain1200 splits are train/test, got {split!r}")


def find_side_by_side_test(root: Path, subdirs: tuple[str, ...], rainy_side: str, what: str
                           ) -> list[PairItem]:
    """Test sets: MPRNet's input/ + target/ if present, else side-by-side files in a known folder."""
    for base in [root / s for s in subdirs] + [root]:
        if (base / "input").is_dir() and (base / "target").is_dir():
            return find_paired_folder(base, "", "input", "target")
        if base.is_dir() and list_images(base):
            return side_by_side_items(base, rainy_side)
    raise DatasetLayoutError(f"{what}: expected side-by-side images (or input/ + target/) in one of "
                             + ", ".join(str(root / s) for s in (*subdirs, "")))


def find_test100(root: Path, split: str = "test", rainy_side: str = "right") -> list[PairItem]:
    if split != "test":
        raise ValueError(f"test100 has only the 'test' split, got {split!r}")
    return find_side_by_side_test(root, ("Test100", "test_syn", "test"), rainy_side, "test100")


SPA_LISTS = {"train": ("real_world.txt", ("", "Training", "training", "real_world")),
             "test": ("real_test_1000.txt", ("", "Testing", "testing", "real_test_1000"))}


def _resolve_listed(path_text: str, list_dir: Path, root: Path) -> Path:
    rel = path_text.strip().replace("\\", "/").removeprefix("./").lstrip("/")
    for base in (list_dir, root, list_dir.parent):
        if (base / rel).is_file():
            return base / rel
    raise DatasetLayoutError(f"spa: listed file {path_text!r} not found under {list_dir} or {root}")


def read_spa_list(list_file: Path, root: Path) -> list[PairItem]:
    items = []
    for number, line in enumerate(list_file.read_text().splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2:
            raise DatasetLayoutError(f"spa: {list_file}:{number}: expected '<rainy> <clean>', got {line!r}")
        rainy = _resolve_listed(parts[0], list_file.parent, root)
        clean = _resolve_listed(parts[1], list_file.parent, root)
        items.append(PairItem(rainy=rainy, clean=clean, name=str(Path(parts[0].strip()).with_suffix(""))
                              .replace("\\", "/").lstrip("./")))
    if not items:
        raise DatasetLayoutError(f"spa: list file {list_file} is empty")
    return items


def find_spa(root: Path, split: str, list_file: str | Path | None = None) -> list[PairItem]:
    if list_file is not None:
        if not Path(list_file).is_file():
            raise DatasetLayoutError(f"spa: list file {list_file} does not exist")
        return read_spa_list(Path(list_file), root)
    if split not in SPA_LISTS:
        raise ValueError(f"spa splits are train/test, got {split!r}")
    name, dirs = SPA_LISTS[split]
    for sub in dirs:
        candidate = root / sub / name
        if candidate.is_file():
            return read_spa_list(candidate, root)
    # No list file: pair <name>.png with <name>gt.png / <name>_gt.png by name.
    base = root / split if (root / split).is_dir() else root
    items = []
    for clean in sorted(p for p in base.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES):
        for tag in ("_gt", "gt"):
            if clean.stem.endswith(tag):
                rainy = clean.with_name(clean.stem[: -len(tag)] + clean.suffix)
                if rainy.is_file():
                    items.append(PairItem(rainy=rainy, clean=clean,
                                          name=str(rainy.relative_to(base).with_suffix(""))))
                break
    if not items:
        raise DatasetLayoutError(
            f"spa: expected a list file ({' or '.join(str(root / d / name) for d in dirs)}) or "
            f"<name>.png + <name>gt.png pairs under {base}")
    return items
