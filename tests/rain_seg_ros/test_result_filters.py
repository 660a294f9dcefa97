"""segmentation_node's result filters: when the confidence is asked of the graph.

The degraded rule alone samples one inference in degraded_every_frames (the others run the
mask-only graph); smoothing needs the confidence every frame.
"""

from __future__ import annotations

import numpy as np

from rain_seg_ros.nodes.result_filters import FILTER_PARAMS, ResultFilters


def _filters(**overrides: object) -> ResultFilters:
    return ResultFilters({**{p.name: p.default for p in FILTER_PARAMS}, **overrides})


def _asked(filters: ResultFilters, inferences: int) -> list[bool]:
    return [filters.confidence_needed() for _ in range(inferences)]


def test_degraded_rule_alone_asks_for_confidence_every_nth_inference():
    assert _asked(_filters(degraded_every_frames=3), 7) == [True, False, False, True, False, False, True]
    assert _asked(_filters(degraded_every_frames=1), 3) == [True, True, True]
    assert _asked(_filters(), 6) == [True, False, False, False, False, True]    # the default: 5


def test_smoothing_asks_every_frame_and_nothing_asks_when_both_are_off():
    assert _asked(_filters(degraded_every_frames=4, smoothing_alpha=0.5), 5) == [True] * 5
    assert _asked(_filters(degraded_status=False), 5) == [False] * 5


def test_degraded_rule_judges_the_sampled_frames_only():
    filters = _filters(degraded_every_frames=2, degraded_window_frames=2)
    low, high = np.full((4, 4), 40, np.uint8), np.full((4, 4), 250, np.uint8)
    for frame in range(4):     # what the node does per inference: confidence only when asked
        confidence = low if filters.confidence_needed() else None
        filters.apply(0, np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), np.uint8), confidence)
    message, values = filters.state()
    assert message.startswith("degraded") and float(values["mean_confidence"]) == round(40 / 255, 3)
    for frame in range(4):
        confidence = high if filters.confidence_needed() else None
        filters.apply(0, np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), np.uint8), confidence)
    assert filters.state()[0] == ""
