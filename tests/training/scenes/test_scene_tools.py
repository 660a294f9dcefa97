"""The night renderer's public API, split parsing, and the bench / contact-sheet scripts."""

from __future__ import annotations

import json

import numpy as np
import pytest

from training.commands.generate_scenes import split_counts
from training.scenes import bench, contact_sheet
from training.scenes.night import render_night


def test_render_night_on_any_image():
    rng = np.random.default_rng(0)
    day = rng.integers(60, 200, (48, 64, 3), dtype=np.uint8)
    night = render_night(day, None, np.random.default_rng(1))
    assert night.shape == day.shape and night.dtype == np.uint8
    assert night.mean() < 0.5 * day.mean()
    assert np.array_equal(night, render_night(day, None, np.random.default_rng(1)))
    # An emitter stays bright and glows into its neighbourhood.
    emissive = np.zeros((48, 64, 3), np.float32)
    emissive[20:24, 30:34] = 2.0
    lit = render_night(day, 10.0, np.random.default_rng(1), emissive=emissive)
    assert lit[21, 31].min() > 200
    assert lit[16:28, 26:38].mean() > night[16:28, 26:38].mean() + 10
    with pytest.raises(ValueError, match="uint8"):
        render_night(day.astype(np.float32), None, rng)


@pytest.mark.parametrize(
    "text, count, expected",
    [
        ("train=0.8,val=0.1,test=0.1", 10, {"train": 8, "val": 1, "test": 1}),
        ("train=0.8,val=0.1,test=0.1", 3, {"train": 3, "val": 0, "test": 0}),
        ("train=0.5,val=0.5", 20, {"train": 10, "val": 10, "test": 0}),
        ("train=3,val=1,test=1", 5, {"train": 3, "val": 1, "test": 1}),
        ("val=1", 4, {"train": 0, "val": 4, "test": 0}),
        ("test=4", 4, {"train": 0, "val": 0, "test": 4}),
    ],
)
def test_split_counts(text, count, expected):
    assert split_counts(text, count) == expected
    assert sum(expected.values()) == count


def test_bench_runs_and_reports(capsys):
    assert bench.main(["--count", "1", "--size", "48x96"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["size"] == [48, 96]
    assert report["ms_per_sample_cpu"]["triple"] > 0


def test_contact_sheet_layout():
    sheet = contact_sheet.make_sheet(0, [0, 1], (48, 96), (24, 48), lens_drops=False)
    assert sheet.shape == (22 + 2 * 24, 5 * 48, 3) and sheet.dtype == np.uint8
