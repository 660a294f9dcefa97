"""Condition labels from each source layout: which image is clear, rainy, night, and how hard it rains.

A label is (rain, night, intensity); UNKNOWN (-1) where the source does not say, and that head
leaves the sample out of its loss (see training/models/condition_net.py for why two heads).

Layouts:
    scenes   ROOT/manifest.jsonl of `python -m training generate-scenes` (one record per scene:
             split, rain_intensity, night, files{clean, rain, night}): the clean twin is clear
             (intensity 0), the rain twin rainy at the record's intensity, the night twin night
             without rain (the generator renders no rain+night twin).
    acdc     ROOT/rgb_anon/<condition>/<split>/<seq>/*_rgb_anon.png: "rain" is rain by day,
             "night" is night with rain unknown; the <split>_ref/ twins (taken in normal
             conditions by day) are clear. fog and snow are left out unless asked for (as
             neither rain nor night).
    bdd100k  images/100k|10k/<split>/*.jpg + labels/det_20/det_<split>.json (or the older
             bdd100k_labels_images_<split>.json): attributes.weather "rainy" -> rain,
             clear/overcast/partly cloudy -> no rain, others unknown; attributes.timeofday
             night/daytime -> night yes/no, dawn/dusk and undefined unknown.
    folders  ROOT/<condition>/**/*.png|jpg with <condition> one of FOLDER_LABELS.

Example:
    items = find_condition_items("scenes", "/tmp/scenes", "val")
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from training.data.acdc import CONDITIONS as ACDC_CONDITIONS
from training.data.acdc import IMAGE_SUFFIX as ACDC_SUFFIX
from training.data.base import DatasetLayoutError, images_in_groups, list_images
from training.data.bdd100k import _bdd_root, attribute_json_candidates

UNKNOWN = -1
FOLDER_LABELS = {"clear": (0, 0), "rain": (1, 0), "night": (0, 1), "rain+night": (1, 1),
                 "rain_night": (1, 1), "night_rain": (1, 1)}
BDD_RAIN = {"rainy": 1, "clear": 0, "overcast": 0, "partly cloudy": 0}
BDD_NIGHT = {"night": 1, "daytime": 0}
MAX_MANIFEST_LINE = 64 * 1024          # a scene record is < 2 kB; longer lines are not records
MAX_ATTRIBUTES_BYTES = 2 * 2**30       # BDD100K's largest attribute file is well below this


@dataclass(frozen=True)
class ConditionItem:
    """One image and what its source says about it (UNKNOWN where it says nothing)."""

    image: Path
    rain: int
    night: int
    intensity: float   # rain intensity in [0, 1], or UNKNOWN
    name: str


def find_condition_items(source: str, root: str | Path, split: str, **kwargs: Any) -> list[ConditionItem]:
    """Items of one source; DatasetLayoutError (one line) when the layout or a label is wrong."""
    readers = {"scenes": _scenes, "acdc": _acdc, "bdd100k": _bdd100k, "folders": _folders}
    if source not in readers:
        raise ValueError(f"unknown condition source {source!r}; expected one of {sorted(readers)}")
    base = Path(root)
    if not base.is_dir():
        raise DatasetLayoutError(f"{source}: dataset root {base} does not exist")
    options = {"acdc": {"conditions", "refs"}, "bdd100k": {"attributes_json"}}.get(source, set())
    if set(kwargs) - options:
        raise ValueError(f"{source}: unknown option(s) {sorted(set(kwargs) - options)}; "
                         f"it takes {sorted(options) or 'none'}")
    items = readers[source](base, split, **kwargs)
    if not items:
        raise DatasetLayoutError(f"{source}: no images under {base} for split {split!r}")
    return items


def _inside(root: Path, rel: str, where: str) -> Path:
    """root/rel, refusing a manifest path that leaves the dataset root."""
    path = (root / rel).resolve()
    if not path.is_relative_to(root.resolve()):
        raise DatasetLayoutError(f"{where}: file {rel!r} lies outside {root}; refusing it")
    return path


def _scenes(root: Path, split: str) -> list[ConditionItem]:
    manifest = root / "manifest.jsonl"
    if not manifest.is_file():
        raise DatasetLayoutError(f"scenes: no {manifest}; point root at a generate-scenes output folder")
    items = []
    with manifest.open("rb") as f:
        for number, line in enumerate(iter(lambda: f.readline(MAX_MANIFEST_LINE + 1), b""), 1):
            where = f"{manifest}:{number}"
            if len(line) > MAX_MANIFEST_LINE:
                raise DatasetLayoutError(f"{where}: line longer than {MAX_MANIFEST_LINE} bytes; "
                                         "not a scene record")
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                if rec["split"] != split:
                    continue
                files, stem = rec["files"], str(rec["stem"])
                intensity = float(rec["rain_intensity"])
                twins = [("clean", 0, 0, 0.0), ("rain", 1, 0, intensity)]
                if rec.get("night"):
                    twins.append(("night", 0, 1, 0.0))
                for twin, rain, night, level in twins:
                    path = _inside(root, str(files[twin]), where)
                    items.append(ConditionItem(path, rain, night, level, f"{twin}/{stem}"))
            except (ValueError, KeyError, TypeError) as exc:
                raise DatasetLayoutError(f"{where}: not a generate-scenes record ({exc!r})") from exc
            if not 0.0 <= intensity <= 1.0:
                raise DatasetLayoutError(f"{where}: rain_intensity {intensity} is outside [0, 1]")
    return items


def _acdc(root: Path, split: str, conditions: list[str] | None = None,
          refs: bool = True) -> list[ConditionItem]:
    chosen = list(conditions or ["rain", "night"])
    unknown = [c for c in chosen if c not in ACDC_CONDITIONS]
    if unknown:
        raise DatasetLayoutError(f"acdc: unknown condition folder(s) {unknown}; expected {ACDC_CONDITIONS}")
    items = []
    for cond in chosen:
        rain, night = {"rain": (1, 0), "night": (UNKNOWN, 1)}.get(cond, (0, 0))
        for image in images_in_groups("acdc", root / "rgb_anon" / cond / split, "seq", ACDC_SUFFIX):
            items.append(ConditionItem(image, rain, night, UNKNOWN, f"{cond}/{image.name}"))
        ref_root = root / "rgb_anon" / cond / f"{split}_ref"
        if refs and ref_root.is_dir():
            for image in sorted(ref_root.glob("*/*_rgb_ref_anon.png")):
                items.append(ConditionItem(image, 0, 0, 0.0, f"{cond}_ref/{image.name}"))
    return items


def read_bdd_attributes(path: Path) -> dict[str, tuple[int, int]]:
    """Image stem -> (rain, night) from a BDD100K label JSON (UNKNOWN where it says nothing useful)."""
    if path.stat().st_size > MAX_ATTRIBUTES_BYTES:
        raise DatasetLayoutError(f"bdd100k: {path} is larger than {MAX_ATTRIBUTES_BYTES} bytes; "
                                 "not a BDD100K label file")
    try:
        frames = json.loads(path.read_bytes())
    except (ValueError, RecursionError) as exc:
        raise DatasetLayoutError(f"bdd100k: {path} is not valid JSON ({exc})") from exc
    if isinstance(frames, dict) and "frames" in frames:  # Scalabel dataset form
        frames = frames["frames"]
    if not isinstance(frames, list):
        raise DatasetLayoutError(f"bdd100k: {path} is not a list of frames")
    out = {}
    for frame in frames:
        if not isinstance(frame, dict) or "name" not in frame:
            raise DatasetLayoutError(f"bdd100k: {path} holds a frame without a name")
        attrs = frame.get("attributes") or {}
        out[Path(str(frame["name"])).stem] = (BDD_RAIN.get(str(attrs.get("weather")), UNKNOWN),
                                              BDD_NIGHT.get(str(attrs.get("timeofday")), UNKNOWN))
    return out


def _bdd100k(root: Path, split: str, attributes_json: str | None = None) -> list[ConditionItem]:
    base = _bdd_root(root)
    dirs = [base / "images" / "100k" / split, base / "images" / "10k" / split,
            base / "seg" / "images" / split]
    image_dir = next((d for d in dirs if d.is_dir()), None)
    if image_dir is None:
        raise DatasetLayoutError(f"bdd100k: no image folder; expected one of {', '.join(map(str, dirs))}")
    candidates = [Path(attributes_json)] if attributes_json else attribute_json_candidates(base, split)
    json_path = next((p for p in candidates if p.is_file()), None)
    if json_path is None:
        raise DatasetLayoutError("bdd100k: condition labels need the attributes JSON; expected one of "
                                 + ", ".join(map(str, candidates)))
    attrs = read_bdd_attributes(json_path)
    items = []
    for image in sorted(image_dir.glob("*.jpg")):
        rain, night = attrs.get(image.stem, (UNKNOWN, UNKNOWN))
        if rain == UNKNOWN and night == UNKNOWN:
            continue   # nothing to learn from: no attributes, or both unusable
        items.append(ConditionItem(image, rain, night, UNKNOWN, image.stem))
    return items


def _folders(root: Path, split: str = "") -> list[ConditionItem]:
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    unknown = [p.name for p in folders if p.name not in FOLDER_LABELS]
    if unknown:
        raise DatasetLayoutError(f"folders: unknown condition folder(s) {unknown} under {root}; "
                                 f"name them {sorted(FOLDER_LABELS)}")
    if not folders:
        raise DatasetLayoutError(f"folders: no condition folders under {root}; "
                                 f"expected {root}/<condition>/ with <condition> in {sorted(FOLDER_LABELS)}")
    items = []
    for folder in folders:
        rain, night = FOLDER_LABELS[folder.name]
        images = list_images(folder, recursive=True)
        if not images:
            raise DatasetLayoutError(f"folders: no images for condition {folder.name!r} in {folder}")
        items += [ConditionItem(p, rain, night, UNKNOWN if rain else 0.0, f"{folder.name}/{p.name}")
                  for p in images]
    return items
