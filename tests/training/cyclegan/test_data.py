"""Unpaired day/night sampling: twins never drawn together, independent domains, one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from training.cyclegan.config import DataConfig
from training.cyclegan.data import (
    DomainImage,
    UnpairedBatchSampler,
    UnpairedCrops,
    check_sizes,
    find_domains,
    separate_twins,
)

from .helpers import write_twin_scenes


def test_no_twin_pair_is_ever_drawn_together(tmp_path):
    write_twin_scenes(tmp_path, count=24, size=(8, 8))
    day, night = find_domains(DataConfig(source="scenes", root=str(tmp_path)))
    # the stems of the files on disk, not the code's twin keys, decide what a twin is
    day_stems = {d.path.name for d in day}
    night_stems = {n.path.name for n in night}
    assert not day_stems & night_stems                      # no scene in both domains at all
    assert len(day_stems) + len(night_stems) == 24          # and no scene lost
    assert len(day_stems) >= 4 and len(night_stems) >= 4    # both sides get a fair share
    sampler = UnpairedBatchSampler(len(day), len(night), 3, seed=1, start_step=0, steps=200)
    pairs = set()
    for batch in sampler:
        batch_day = {day[i].path.name for i, _, _ in batch}
        batch_night = {night[j].path.name for _, j, _ in batch}
        assert not batch_day & batch_night
        pairs |= {(i, j) for i, j, _ in batch}
    assert len(pairs) > len(day) * len(night) // 2          # the domains are drawn independently


def test_folder_twins_are_kept_apart_and_untwinned_images_kept():
    day = [DomainImage(Path(f"d/{k}.png"), k) for k in ("a", "b", "c", "d", "x")]
    night = [DomainImage(Path(f"n/{k}.png"), k) for k in ("a", "b", "c", "d", "y")]
    d, n = separate_twins(day, night)
    assert not {i.twin for i in d} & {i.twin for i in n}
    assert "x" in {i.twin for i in d} and "y" in {i.twin for i in n}
    assert len(d) + len(n) == 6


def test_sampler_batches_depend_only_on_seed_and_step():
    a = UnpairedBatchSampler(5, 7, 2, seed=3, start_step=0, steps=40)
    b = UnpairedBatchSampler(5, 7, 2, seed=3, start_step=25, steps=40)
    assert list(a)[25:] == list(b)
    ranks = [UnpairedBatchSampler(5, 7, 2, seed=3, start_step=0, steps=1, rank=r, world_size=2).batch(0)
             for r in (0, 1)]
    assert ranks[0] + ranks[1] == UnpairedBatchSampler(5, 7, 4, seed=3, start_step=0, steps=1).batch(0)


def test_crops_have_the_crop_size(tmp_path):
    write_twin_scenes(tmp_path, count=4, size=(20, 30))
    day, night = find_domains(DataConfig(source="scenes", root=str(tmp_path)))
    item = UnpairedCrops(day, night, (16, 8))[(0, 0, 7)]
    assert item["day"].shape == item["night"].shape == (3, 16, 8)


def _png(path: Path, h: int = 8, w: int = 8) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.zeros((h, w, 3), np.uint8)).save(path)


def test_bad_input_is_one_clear_line(tmp_path):
    (tmp_path / "empty").mkdir()
    _png(tmp_path / "night" / "n.png")
    with pytest.raises(FileNotFoundError, match=r"data.day_root .*empty: no images"):
        find_domains(DataConfig(source="folders", day_root=str(tmp_path / "empty"),
                                night_root=str(tmp_path / "night")))
    with pytest.raises(ValueError, match="same folder"):
        find_domains(DataConfig(source="folders", day_root=str(tmp_path / "night"),
                                night_root=str(tmp_path / "night")))
    write_twin_scenes(tmp_path / "day_only", count=2, size=(8, 8), night=False)
    with pytest.raises(FileNotFoundError, match="holds only day scenes .*--night"):
        find_domains(DataConfig(source="scenes", root=str(tmp_path / "day_only")))
    # two folders holding the same one scene: nothing unpaired is left for one domain
    _png(tmp_path / "day" / "n.png")
    with pytest.raises(ValueError, match="no (day|night) images left"):
        find_domains(DataConfig(source="folders", day_root=str(tmp_path / "day"),
                                night_root=str(tmp_path / "night")))
    with pytest.raises(ValueError, match=r"n.png is 8x8, smaller than data.crop 16x16 \(1 of 1"):
        check_sizes([DomainImage(tmp_path / "night" / "n.png")], (16, 16), None, "night")
    check_sizes([DomainImage(tmp_path / "night" / "n.png")], (16, 16), (16, 16), "night")   # resized first


def test_dark_zurich_correspondences_are_never_both_used(tmp_path):
    pairs = {}
    for k in range(6):   # night frame k corresponds to day frame k (the CSV says so)
        night_key = f"train/night/GOPR0356/GOPR0356_frame_{k:06d}"
        day_key = f"train/day/GOPR0351/GOPR0351_frame_{k:06d}"
        _png(tmp_path / "rgb_anon" / f"{night_key}_rgb_anon.png")
        _png(tmp_path / "rgb_anon" / f"{day_key}_rgb_anon.png")
        pairs[night_key] = day_key
    _png(tmp_path / "rgb_anon" / "train/night/GOPR0356/GOPR0356_frame_000099_rgb_anon.png")   # no twin
    csv = tmp_path / "corresp/train/night/GOPR0356/corresp.csv"
    csv.parent.mkdir(parents=True)
    csv.write_text("".join(f"{n},{d}\n" for n, d in pairs.items()))
    day, night = find_domains(DataConfig(source="dark_zurich", root=str(tmp_path)))
    day_names = {p.path.name.removesuffix("_rgb_anon.png") for p in day}
    for item in night:
        key = item.path.name.removesuffix("_rgb_anon.png")
        twin = pairs.get(f"train/night/GOPR0356/{key}", "").rpartition("/")[2]
        assert twin not in day_names
    assert len(day) + len(night) == 7 and len(day) == 3
