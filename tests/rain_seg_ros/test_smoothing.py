"""LabelVoteSmoother against hand-computed sequences (plain and with keep_below), resets, and the
optical-flow warp (a textured pan and a hand-made moved square)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from rain_seg_ros.nodes.result_filters import FILTER_PARAMS, ResultFilters
from rain_seg_ros.smoothing import LabelVoteSmoother

BLACK = np.zeros((1, 3, 3), np.uint8)
BLACK4 = np.zeros((1, 4, 3), np.uint8)


def _u8(*values: int) -> np.ndarray:
    return np.array([values], np.uint8)


def test_votes_follow_the_hand_computed_sequence():
    s = LabelVoteSmoother(alpha=0.5)
    # (mask, confidence) -> expected (label, strength*255), worked out by hand with alpha 0.5:
    # frame 1, pixel 0 same label: .5*200 + .5*100 = 150; pixel 1 other: .5*200 - .5*100 = 50 >= 0,
    # keeps 1; pixel 2 other: .5*200 - .5*250 = -25 < 0, flips to 2 with 25.
    # frame 2, pixel 0 same: .5*150 + 0 = 75; pixel 1: .5*50 - .5*250 = -100, flips to 2;
    # pixel 2: .5*25 - .5*245 = -110, flips to 1.
    steps = [((1, 1, 1), (200, 200, 200), (1, 1, 1), (200, 200, 200)),
             ((1, 2, 2), (100, 100, 250), (1, 1, 2), (150, 50, 25)),
             ((1, 2, 1), (0, 250, 245), (1, 2, 1), (75, 100, 110))]
    for mask, conf, want_label, want_conf in steps:
        label, confidence = s.update(BLACK, _u8(*mask), _u8(*conf))
        np.testing.assert_array_equal(label, _u8(*want_label))
        np.testing.assert_array_equal(confidence, _u8(*want_conf))


def test_alpha_zero_passes_frames_through():
    s = LabelVoteSmoother(alpha=0.0)
    rng = np.random.default_rng(0)
    for _ in range(3):
        mask, conf = rng.integers(0, 5, (4, 6), dtype=np.uint8), rng.integers(0, 256, (4, 6), dtype=np.uint8)
        label, confidence = s.update(np.zeros((4, 6, 3), np.uint8), mask, conf)
        np.testing.assert_array_equal(label, mask)
        np.testing.assert_array_equal(confidence, conf)


def test_scene_change_size_change_and_reset_drop_the_state():
    s = LabelVoteSmoother(alpha=0.9, reset_difference=40.0)
    s.update(BLACK, _u8(1, 1, 1), _u8(255, 255, 255))
    grey = np.full((1, 3, 3), 30, np.uint8)               # mean difference 30 <= 40: same scene
    label, _ = s.update(grey, _u8(2, 2, 2), _u8(255, 255, 255))
    np.testing.assert_array_equal(label, _u8(1, 1, 1))    # the state (0.9) outvotes one frame (0.1)
    white = np.full((1, 3, 3), 255, np.uint8)             # difference 225 > 40: a new scene
    label, conf = s.update(white, _u8(2, 2, 2), _u8(90, 90, 90))
    np.testing.assert_array_equal(label, _u8(2, 2, 2))
    np.testing.assert_array_equal(conf, _u8(90, 90, 90))
    assert s.resets == 1
    s.reset()
    label, _ = s.update(white, _u8(3, 3, 3), _u8(10, 10, 10))
    np.testing.assert_array_equal(label, _u8(3, 3, 3))
    four = np.full((2, 2), 4, np.uint8)
    label, _ = s.update(np.zeros((2, 2, 3), np.uint8), four, np.zeros((2, 2), np.uint8))
    np.testing.assert_array_equal(label, four)   # new size: passes through


def test_flow_moves_the_state_with_the_image():
    rng = np.random.default_rng(1)
    h, w, shift = 64, 128, 6
    texture = cv2.GaussianBlur(rng.integers(0, 256, (h, w + shift)).astype(np.float32), (0, 0), 3)
    texture = cv2.normalize(texture, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    frames = [texture[:, shift:], texture[:, :w]]          # the camera pans: content moves right
    masks = [(f > 128).astype(np.uint8) for f in frames]
    conf = np.full((h, w), 200, np.uint8)
    inner = (slice(8, -8), slice(16, -16))
    agreement = {}
    for flow in (False, True):
        s = LabelVoteSmoother(alpha=0.6, flow=flow, reset_difference=255)
        s.update(np.dstack([frames[0]] * 3), masks[0], conf)
        # the state outweighs one frame: unwarped, it keeps its stale label wherever labels disagree
        label, _ = s.update(np.dstack([frames[1]] * 3), masks[1], conf)
        agreement[flow] = float(np.mean(label[inner] == masks[1][inner]))
    assert agreement[False] < 0.9 and agreement[True] > 0.97, agreement


def _moved_square(h: int, w: int, x0: int, shift: int, size: int, **smoother: object) -> np.ndarray:
    """A hand-made textured square moves `shift` px right on a flat background; the next frame's
    labels are all background at low confidence, so what comes out is the (warped) state."""
    rng = np.random.default_rng(3)
    patch = cv2.GaussianBlur(rng.integers(0, 256, (size, size)).astype(np.float32), (0, 0), 1.5)
    patch = cv2.normalize(patch, None, 60, 255, cv2.NORM_MINMAX).astype(np.uint8)
    top = h // 3

    def frame(x: int) -> np.ndarray:
        grey = np.full((h, w), 20, np.uint8)
        grey[top:top + size, x:x + size] = patch
        return np.dstack([grey] * 3)

    s = LabelVoteSmoother(alpha=0.9, reset_difference=255, **smoother)  # type: ignore[arg-type]
    s.update(frame(x0), _square(h, w, top, x0, size), np.full((h, w), 255, np.uint8))
    label, _ = s.update(frame(x0 + shift), np.zeros((h, w), np.uint8), np.full((h, w), 10, np.uint8))
    return label


def _square(h: int, w: int, top: int, x: int, size: int) -> np.ndarray:
    mask = np.zeros((h, w), np.uint8)
    mask[top:top + size, x:x + size] = 1
    return mask


def test_flow_moves_a_shifted_object_to_where_it_went():
    """With flow the square's label must sit exactly on its new position (a flow applied the wrong
    way round puts it 3 px left of the old one), without flow on its old position."""
    h, w, x0, shift, size = 48, 64, 16, 3, 16   # 64 px wide: the flow's thumbnail is the frame itself
    for flow, x in ((True, x0 + shift), (False, x0)):
        np.testing.assert_array_equal(_moved_square(h, w, x0, shift, size, flow=flow),
                                      _square(h, w, h // 3, x, size), err_msg=f"flow={flow}")


@pytest.mark.parametrize("method", ["dis_ultrafast", "dis_fast"])
def test_dis_flow_follows_a_shift_farneback_misses(method: str):
    """6 px at 64 px wide: the first Farneback (2 levels, 9 px window) leaves part of the square
    behind; DIS lands it exactly."""
    h, w, x0, shift, size = 48, 64, 16, 6, 16
    want = _square(h, w, h // 3, x0 + shift, size)
    old = _moved_square(h, w, x0, shift, size, flow=True, flow_method="farneback")
    assert int((old != want).sum()) > 50
    np.testing.assert_array_equal(_moved_square(h, w, x0, shift, size, flow=True, flow_method=method), want)


def test_flow_width_and_fine_farneback():
    """12 px at 128x256: the first Farneback run at full width (256 px) misses it, the finer
    pyramid at 256 px and either at 64 px (3 px there) land it exactly."""
    h, w, x0, shift, size = 128, 256, 64, 12, 32
    want = _square(h, w, h // 3, x0 + shift, size)
    coarse = _moved_square(h, w, x0, shift, size, flow=True, flow_method="farneback", flow_width=256)
    assert int((coarse != want).sum()) > 50
    for method, width in (("farneback_fine", 256), ("farneback", 64), ("dis_fast", 256)):
        np.testing.assert_array_equal(_moved_square(h, w, x0, shift, size, flow=True, flow_method=method,
                                                    flow_width=width), want, err_msg=f"{method}@{width}")


def test_bad_flow_settings_are_refused():
    with pytest.raises(ValueError, match="flow_method must be one of farneback"):
        LabelVoteSmoother(alpha=0.5, flow=True, flow_method="lucas")
    with pytest.raises(ValueError, match="flow_width must be >= 16"):
        LabelVoteSmoother(alpha=0.5, flow=True, flow_width=8)


def test_keep_below_passes_confident_labels_through():
    s = LabelVoteSmoother(alpha=0.5, keep_below=0.6)
    # By hand, alpha 0.5, keep_below 0.6 (= 153/255): frame 1 sets the state.
    # frame 1, pixel 0: conf 200 >= 153 passes through: label 2, strength 200; pixel 1: conf 100 < 153,
    # votes: .5*200 - .5*100 = 50 keeps 1; pixel 2: same label, conf 150 < 153: .5*200 + .5*150 = 175;
    # pixel 3: same label, conf 160 >= 153 passes through: 160 (a vote would give 180).
    # frame 2, pixel 0: conf 140 < 153 votes: .5*200 - .5*140 = 30 keeps 2; pixel 1: conf 154 > the
    # threshold passes through: label 3, 154; pixel 2: .5*175 - .5*151 = 12 keeps 1;
    # pixel 3: conf 0 votes: .5*160 - 0 = 80 keeps 1.
    steps = [((1, 1, 1, 1), (200, 200, 200, 200), (1, 1, 1, 1), (200, 200, 200, 200)),
             ((2, 2, 1, 1), (200, 100, 150, 160), (2, 1, 1, 1), (200, 50, 175, 160)),
             ((1, 3, 2, 2), (140, 154, 151, 0), (2, 3, 1, 1), (30, 154, 12, 80))]
    for mask, conf, want_label, want_conf in steps:
        label, confidence = s.update(BLACK4, _u8(*mask), _u8(*conf))
        np.testing.assert_array_equal(label, _u8(*want_label))
        np.testing.assert_array_equal(confidence, _u8(*want_conf))


@pytest.mark.parametrize("keep_below, first_passing", [(0.6, 153), (0.55, 141), (0.45, 115), (0.0, 0)])
def test_keep_below_threshold_on_the_uint8_confidence(keep_below: float, first_passing: int):
    # c passes through iff c / 255 >= keep_below: 0.6 * 255 = 153 exactly, 0.55 * 255 = 140.25
    for c in (first_passing - 1, first_passing):
        if c < 0:
            continue
        s = LabelVoteSmoother(alpha=0.9, keep_below=keep_below)
        s.update(BLACK4, _u8(1, 1, 1, 1), _u8(255, 255, 255, 255))
        label, _ = s.update(BLACK4, _u8(2, 2, 2, 2), _u8(c, c, c, c))
        assert label[0, 0] == (2 if c == first_passing else 1), c


def test_result_filters_pass_keep_below_to_the_smoother():
    params = {p.name: p.default for p in FILTER_PARAMS}
    params.update(smoothing_alpha=0.9, smoothing_keep_below=0.5, degraded_status=False)
    filters = ResultFilters(params)
    filters.apply(0, BLACK4, _u8(1, 1, 1, 1), _u8(255, 255, 255, 255))
    # pixel 0 is confident (200 >= 128) and passes through; pixel 1 (100) is outvoted by the state
    mask, conf, _ = filters.apply(0, BLACK4, _u8(2, 2, 1, 1), _u8(200, 100, 255, 255))
    np.testing.assert_array_equal(mask, _u8(2, 1, 1, 1))
    assert conf is not None and conf[0, 0] == 200


def test_result_filters_pass_the_flow_settings_to_the_smoother():
    params = {p.name: p.default for p in FILTER_PARAMS}
    params.update(smoothing_alpha=0.5, smoothing_flow=True, smoothing_flow_method="dis_fast",
                  smoothing_flow_width=128, degraded_status=False)
    filters = ResultFilters(params)
    zeros = np.zeros((8, 16), np.uint8)
    filters.apply("cam", np.zeros((8, 16, 3), np.uint8), zeros, zeros)
    smoother = filters.smoothers["cam"]
    assert (smoother.flow, smoother.flow_method, smoother.flow_width) == (True, "dis_fast", 128)


def test_alpha_out_of_range_is_refused():
    with pytest.raises(ValueError, match="alpha"):
        LabelVoteSmoother(alpha=1.0)
    with pytest.raises(ValueError, match="keep_below"):
        LabelVoteSmoother(alpha=0.5, keep_below=1.5)
