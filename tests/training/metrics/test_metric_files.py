"""Pairing predictions with ground truth by file name."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from training.metrics.files import list_files, match_files, read_label_png, read_rgb_image


def paths(*names: str) -> list[Path]:
    return [Path(n) for n in names]


def names(pairs) -> list[tuple[str, str]]:
    return [(p.name, g.name) for p, g in pairs]


def test_cityscapes_suffix_and_prefix_matching():
    gt = paths("a/x_000001_000019_gtFine_labelTrainIds.png", "a/x_000001_000020_gtFine_labelTrainIds.png",
               "a/x_000001_000019_gtFine_color.png")
    pred = paths("x_000001_000019_leftImg8bit.png", "x_000001_000020.png", "y_000001_000001.png")
    m = match_files(pred, gt, gt_suffix="_gtFine_labelTrainIds")
    assert names(m.pairs) == [("x_000001_000019_leftImg8bit.png", "x_000001_000019_gtFine_labelTrainIds.png"),
                              ("x_000001_000020.png", "x_000001_000020_gtFine_labelTrainIds.png")]
    assert [p.name for p in m.unmatched_pred] == ["y_000001_000001.png"]
    assert m.unmatched_gt == [] and m.mode == "stem"


def test_prefix_needs_a_separator_and_prefers_the_longest_key():
    m = match_files(paths("img_10.png", "img_1_pred.png", "img_1_2_pred.png"),
                    paths("img_1.png", "img_1_2.png"), mode="stem")
    assert names(m.pairs) == [("img_1_pred.png", "img_1.png"), ("img_1_2_pred.png", "img_1_2.png")]
    assert [p.name for p in m.unmatched_pred] == ["img_10.png"]


def test_two_predictions_for_one_gt_is_an_error_unless_shared():
    pred, gt = paths("a_pred.png", "a_color.png"), paths("a.png")
    with pytest.raises(ValueError, match="--pred-suffix"):
        match_files(pred, gt)
    assert names(match_files(pred, gt, pred_suffix="_pred").pairs) == [("a_pred.png", "a.png")]
    # Rain1400: 14 rainy versions of one clean image.
    shared = match_files(paths("1_1.png", "1_2.png"), paths("1.png"), shared_gt=True)
    assert names(shared.pairs) == [("1_1.png", "1.png"), ("1_2.png", "1.png")]


def test_rain100_names_pair_by_the_dataset_rule_not_the_last_number():
    # JORDER's release names the rainy image norain-<k>x2.png: its last number is the scale.
    pred = paths("norain-1x2.png", "norain-2x2.png", "rain-012.png", "rain-3.png")
    gt = paths("norain-1.png", "norain-2.png", "norain-12.png")
    m = match_files(pred, gt)
    assert m.mode == "rain100"
    assert sorted(names(m.pairs)) == [("norain-1x2.png", "norain-1.png"), ("norain-2x2.png", "norain-2.png"),
                                      ("rain-012.png", "norain-12.png")]
    assert [p.name for p in m.unmatched_pred] == ["rain-3.png"] and m.unmatched_gt == []
    assert match_files(pred, gt, mode="stem").pairs == []


def test_rainy_files_in_a_reference_folder_are_not_references():
    # PReNet's flat Rain100H: rain-001.png next to norain-001.png; an output named rain-001.png
    # must meet norain-001.png, not the rainy input of the same name.
    m = match_files(paths("out/rain-001.png"), paths("Rain100H/rain-001.png", "Rain100H/norain-001.png"))
    assert names(m.pairs) == [("rain-001.png", "norain-001.png")] and m.unmatched_gt == []


def test_a_reference_claimed_twice_is_an_error():
    with pytest.raises(ValueError, match="2 predictions match ground truth norain-2.png"):
        match_files(paths("norain-1x2.png", "norain-2x2.png"), paths("norain-1.png", "norain-2.png"),
                    mode="number", shared_gt=True)
    # An exact name wins; the Rain100 name for the same reference is left unmatched.
    m = match_files(paths("norain-1.png", "rain-1.png"), paths("norain-1.png"), shared_gt=True)
    assert names(m.pairs) == [("norain-1.png", "norain-1.png")]
    assert [p.name for p in m.unmatched_pred] == ["rain-1.png"]


def test_duplicate_keys_are_an_error():
    with pytest.raises(ValueError, match="share the key"):
        match_files(paths("a.png"), paths("x/a.png", "y/a.png"))


def test_list_and_read(tmp_path):
    (tmp_path / "city").mkdir()
    Image.fromarray(np.array([[0, 1], [255, 2]], np.uint8)).save(tmp_path / "city" / "m.png")
    Image.fromarray(np.zeros((2, 2, 3), np.uint8)).save(tmp_path / "rgb.png")
    (tmp_path / "notes.txt").write_text("x")
    assert [p.name for p in list_files(tmp_path, (".png",))] == ["m.png", "rgb.png"]
    np.testing.assert_array_equal(read_label_png(tmp_path / "city" / "m.png"), [[0, 1], [255, 2]])
    with pytest.raises(ValueError, match="colour"):
        read_label_png(tmp_path / "rgb.png")
    assert read_rgb_image(tmp_path / "city" / "m.png").shape == (2, 2, 3)
    with pytest.raises(FileNotFoundError):
        list_files(tmp_path / "missing", (".png",))
