"""Condition labels read from each source layout, on tiny trees built here."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from training.commands.generate_scenes import main as generate_scenes
from training.condition.sources import UNKNOWN, find_condition_items
from training.data.base import DatasetLayoutError


def _png(path: Path, value: int = 100) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((8, 12, 3), value, np.uint8)).save(path)
    return path


def _labels(items):
    return {it.name: (it.rain, it.night, it.intensity) for it in items}


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    out = tmp_path_factory.mktemp("scenes")
    assert generate_scenes(["--out", str(out), "--count", "3", "--size", "32x64", "--night", "--seed", "3",
                            "--splits", "train=2,val=1,test=0", "--quiet"]) == 0
    return out


def test_scenes_labels_come_from_the_manifest(scenes):
    records = [json.loads(line) for line in (scenes / "manifest.jsonl").read_text().splitlines()]
    train = [r for r in records if r["split"] == "train"]
    labels = _labels(find_condition_items("scenes", scenes, "train"))
    expected = {}
    for r in train:
        expected[f"clean/{r['stem']}"] = (0, 0, 0.0)
        expected[f"rain/{r['stem']}"] = (1, 0, r["rain_intensity"])
        expected[f"night/{r['stem']}"] = (0, 1, 0.0)
    assert labels == expected
    paths = {it.name: it.image for it in find_condition_items("scenes", scenes, "train")}
    assert paths[f"rain/{train[0]['stem']}"] == (scenes / train[0]["files"]["rain"]).resolve()


def test_scenes_refuses_a_manifest_path_outside_the_root(scenes, tmp_path):
    root = tmp_path / "evil"
    root.mkdir()
    record = json.loads((scenes / "manifest.jsonl").read_text().splitlines()[0])
    record["files"]["rain"] = "../../etc/passwd"
    (root / "manifest.jsonl").write_text(json.dumps(record) + "\n")
    with pytest.raises(DatasetLayoutError, match="outside"):
        find_condition_items("scenes", root, record["split"])


def test_acdc_conditions_from_folders_and_refs_as_clear(tmp_path):
    _png(tmp_path / "rgb_anon/rain/train/GP010400/GP010400_frame_000001_rgb_anon.png")
    _png(tmp_path / "rgb_anon/rain/train_ref/GP010400/GP010400_frame_000001_rgb_ref_anon.png")
    _png(tmp_path / "rgb_anon/night/train/GOPR0351/GOPR0351_frame_000002_rgb_anon.png")
    _png(tmp_path / "rgb_anon/fog/train/GOPR0475/GOPR0475_frame_000003_rgb_anon.png")
    labels = _labels(find_condition_items("acdc", tmp_path, "train"))
    assert labels == {"rain/GP010400_frame_000001_rgb_anon.png": (1, 0, UNKNOWN),
                      "rain_ref/GP010400_frame_000001_rgb_ref_anon.png": (0, 0, 0.0),
                      "night/GOPR0351_frame_000002_rgb_anon.png": (UNKNOWN, 1, UNKNOWN)}
    with pytest.raises(DatasetLayoutError, match="unknown condition folder"):
        find_condition_items("acdc", tmp_path, "train", conditions=["rain", "dusk"])


def test_bdd100k_weather_and_time_of_day(tmp_path):
    frames = {"a": ("rainy", "night"), "b": ("clear", "daytime"), "c": ("foggy", "dawn/dusk"),
              "d": ("overcast", "night"), "e": ("snowy", "daytime")}
    for name in [*frames, "nolabel"]:
        _png(tmp_path / f"bdd100k/images/100k/val/{name}.jpg")
    attrs = [{"name": f"{n}.jpg", "attributes": {"weather": w, "timeofday": t}}
             for n, (w, t) in frames.items()]
    (tmp_path / "bdd100k/labels/det_20").mkdir(parents=True)
    (tmp_path / "bdd100k/labels/det_20/det_val.json").write_text(json.dumps(attrs))
    labels = _labels(find_condition_items("bdd100k", tmp_path, "val"))
    # c: neither fact usable and "nolabel" has no attributes: both left out
    assert labels == {"a": (1, 1, UNKNOWN), "b": (0, 0, UNKNOWN), "d": (0, 1, UNKNOWN),
                      "e": (UNKNOWN, 0, UNKNOWN)}


def test_folders_labels_and_one_line_errors(tmp_path):
    for cond in ("clear", "rain", "night", "rain+night"):
        _png(tmp_path / "ok" / cond / "sub" / f"{cond}.png")
    labels = _labels(find_condition_items("folders", tmp_path / "ok", ""))
    assert labels == {"clear/clear.png": (0, 0, 0.0), "rain/rain.png": (1, 0, UNKNOWN),
                      "night/night.png": (0, 1, 0.0), "rain+night/rain+night.png": (1, 1, UNKNOWN)}

    _png(tmp_path / "bad" / "fog" / "x.png")
    _png(tmp_path / "bad" / "clear" / "y.png")
    with pytest.raises(DatasetLayoutError, match=r"unknown condition folder\(s\) \['fog'\]") as exc:
        find_condition_items("folders", tmp_path / "bad", "")
    assert "\n" not in str(exc.value)

    _png(tmp_path / "empty" / "clear" / "y.png")
    (tmp_path / "empty" / "rain").mkdir()
    with pytest.raises(DatasetLayoutError, match="no images for condition 'rain'"):
        find_condition_items("folders", tmp_path / "empty", "")


def test_unknown_reader_option_is_named(tmp_path):
    _png(tmp_path / "clear" / "a.png")
    with pytest.raises(ValueError, match=r"folders: unknown option\(s\) \['condtions'\]"):
        find_condition_items("folders", tmp_path, "", condtions=["rain"])
