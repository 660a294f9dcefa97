"""replay_eval's condition figures: unit checks of each metric by hand, and one end-to-end replay
of a clear -> rain bag with the true condition through a segmentation_node process that runs the
stand-in condition estimator and switches to a rain model after 2 estimates."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rain_seg_ros.codec import array_to_image_fields
from rain_seg_ros.replay.bag_io import condition_message, image_message, write_bag
from rain_seg_ros.replay.condition_metrics import estimator_accuracy, switch_log, temporal_consistency
from rain_seg_ros.replay.replay_eval import main

from .condition_node_fixtures import band_labels, condition_frame, write_band_model, write_stripe_condition

T0 = 1_700_000_000_000_000_000
CLEAR_CLASSES, RAIN_CLASSES = (0, 8, 10), (10, 8, 0)


def _u8(rows: list[list[int]]) -> np.ndarray:
    return np.array(rows, np.uint8)


def test_temporal_consistency_counts_flips_where_the_truth_stays():
    gt = {1: _u8([[1, 1, 255]]), 2: _u8([[1, 2, 255]]), 3: _u8([[1, 2, 255]])}
    masks = {1: _u8([[1, 1, 1]]), 2: _u8([[3, 2, 4]]), 3: _u8([[3, 1, 4]])}
    # pair 1-2: stable pixels {0} (pixel 1 changes in gt, pixel 2 ignore), flipped: pixel 0
    # pair 2-3: stable {0, 1}, flipped: pixel 1. Stamp 4 has no mask: no pair.
    got = temporal_consistency([1, 2, 3, 4], masks, gt)
    assert got == {"flip_share": 2 / 3, "stable_pixels": 3, "frame_pairs": 2}


def test_estimator_accuracy_and_switch_log():
    truth = {1: "clear", 2: "rain", 3: "rain", 4: "night"}
    estimated = {1: "clear", 2: "clear", 3: "rain", 4: "night", 5: "rain"}
    acc = estimator_accuracy([1, 2, 3, 4, 5], estimated, truth)
    assert acc["accuracy"] == 0.75 and acc["frames"] == 4
    assert acc["per_condition"] == {"clear": 1.0, "rain": 0.5, "night": 1.0}
    assert acc["confusion"]["rain"] == {"clear": 1, "rain": 1}
    active = {1: "default", 2: "default", 3: "rain", 5: "night"}
    assert switch_log([1, 2, 3, 4, 5], active, truth) == [
        {"frame": 2, "stamp_ns": 3, "from": "default", "to": "rain", "true_condition": "rain"},
        {"frame": 4, "stamp_ns": 5, "from": "rain", "to": "night", "true_condition": None}]


@pytest.mark.ros
def test_replay_reports_conditions_end_to_end(tmp_path: Path):
    sequence = ["clear"] * 3 + ["rain"] * 4
    truth = band_labels(CLEAR_CLASSES)
    images, gts, conds = [], [], []
    for i, condition in enumerate(sequence):
        stamp = T0 + i * 100_000_000
        rgb = array_to_image_fields(condition_frame(condition), "rgb8")
        images.append((stamp, image_message(stamp, "cam", rgb)))
        gts.append((stamp, image_message(stamp, "cam", array_to_image_fields(truth, "mono8"))))
        conds.append((stamp, condition_message(stamp, "cam", condition, {})))
    write_bag(tmp_path / "bag", {"/camera/image": images, "/camera/gt": gts,
                                 "/ground_truth/condition": conds})
    models = {"clear": write_band_model(tmp_path / "clear.onnx", CLEAR_CLASSES),
              "rain": write_band_model(tmp_path / "rain.onnx", RAIN_CLASSES)}
    rc = main([str(tmp_path / "bag"), "--image-topic", "/camera/image", "--gt-topic", "/camera/gt",
               "--rate", "0", "--model", str(models["clear"]), "--backend", "onnxruntime", "--no-bag",
               "--condition-model", str(write_stripe_condition(tmp_path / "cond.onnx")),
               "--models", f"rain:{models['rain']}", "--switch-hold-frames", "2",
               "--out", str(tmp_path / "r")])
    assert rc == 0
    section = json.loads((tmp_path / "r" / "report.json").read_text())["conditions"]
    assert section["true_conditions"] == {"clear": 3, "rain": 4}
    assert section["estimator"]["accuracy"] == 1.0 and section["estimator"]["frames"] == 7
    # the 2nd rain frame (index 4) is the first the rain model serves
    assert [(e["frame"], e["from"], e["to"]) for e in section["switch_log"]] == [(4, "default", "rain")]
    # per frame, in order: what ~/condition said (the stripe's condition) and which model served
    assert [(p["stamp_ns"], p["condition"], p["active_model"]) for p in section["published"]] == [
        (s, c, m) for (s, _), c, m in zip(images, sequence, ["default"] * 4 + ["rain"] * 3, strict=True)]
    # rain frames: frame 3 right, frames 4-6 swap road and sky. Equal bands of P pixels: road IoU =
    # P / (4P truth + 3P wrong) = 1/7, sky the same, vegetation 1.
    per = section["per_condition_scores"]
    assert per["clear"]["miou"] == pytest.approx(1.0)
    assert per["rain"]["miou"] == pytest.approx((1 / 7 + 1 / 7 + 1) / 3)
    # only the 3 -> 4 pair flips, two bands of three: 2P / (6 pairs * 3P)
    assert section["temporal_consistency"]["flip_share"] == pytest.approx(1 / 9)
    md = (tmp_path / "r" / "report.md").read_text()
    assert "## Conditions" in md and "Model switches: 1." in md and "| rain | 4 |" in md
