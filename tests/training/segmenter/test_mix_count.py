"""Translated (or rainified) sets mixed into the training set by count or ratio (Method 2)."""

from __future__ import annotations

from collections import Counter

import pytest

from training.segmenter.config import DataSource, TrainSegmenterConfig
from training.segmenter.data import build_train_set

from .layouts import write_cityscapes


def _names(dataset) -> Counter:
    return Counter(dataset[i]["name"] for i in range(len(dataset)))


def _cfg(day, night, **night_kw) -> TrainSegmenterConfig:
    cfg = TrainSegmenterConfig(train=[DataSource(root=str(day)), DataSource(root=str(night), **night_kw)])
    cfg.augment.crop_size, cfg.augment.color_jitter, cfg.augment.scale_range = [8, 16], False, [1.0, 1.0]
    return cfg


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    root = tmp_path_factory.mktemp("mix")
    day = write_cityscapes(root / "day", "train", 4, size=(16, 32))
    night = write_cityscapes(root / "night", "train", 3, size=(16, 32), seed=1)
    return day, night


def test_count_takes_whole_copies_then_a_seeded_subset(sets):
    day, night = sets
    mix = build_train_set(_cfg(day, night, count=5))
    assert len(mix) == 4 + 5
    night_part = _names(mix.datasets[1])
    # 5 = the 3 night images once, then 2 of them once more
    assert sorted(night_part.values()) == [1, 2, 2] and sum(night_part.values()) == 5
    again = build_train_set(_cfg(day, night, count=5))
    assert _names(again.datasets[1]) == night_part            # the same seed picks the same images
    small = build_train_set(_cfg(day, night, count=2))
    assert len(small) == 6 and max(_names(small.datasets[1]).values()) == 1


def test_ratio_is_relative_to_the_sources_without_one(sets):
    day, night = sets
    assert len(build_train_set(_cfg(day, night, ratio=0.5))) == 4 + 2
    assert len(build_train_set(_cfg(day, night, ratio=2.0))) == 4 + 8
    assert len(build_train_set(_cfg(day, night, ratio=0.1))) == 4          # rounds to none
    with pytest.raises(ValueError, match="not both"):
        build_train_set(_cfg(day, night, ratio=1.0, count=3))
