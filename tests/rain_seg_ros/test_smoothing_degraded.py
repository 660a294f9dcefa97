"""DegradedStatus: the WARN rule on confidence figures, with hysteresis (ROS-free)."""

from __future__ import annotations

import numpy as np

from rain_seg_ros.diagnostics import DegradedStatus


def _frame(values: list[int]) -> np.ndarray:
    return np.array(values, np.uint8).reshape(1, -1)


def test_mean_rule_with_hysteresis():
    d = DegradedStatus(min_mean=0.5, low_confidence=0.2, max_low_share=0.9, window=1, margin=0.05)
    assert not d.update(_frame([153, 153]))       # 0.6 >= 0.5
    assert d.update(_frame([102, 102]))           # 0.4 < 0.5
    assert d.update(_frame([130, 130]))           # 0.51: above 0.5 but not 0.55: still degraded
    assert not d.update(_frame([145, 145]))       # 0.569 >= 0.55: recovered
    assert d.changes == 1


def _share(low: int, n: int = 10) -> np.ndarray:
    """n pixels of which `low` are below 0.4 (conf 50 vs 250)."""
    return _frame([50] * low + [250] * (n - low))


def test_low_share_rule_with_hysteresis():
    d = DegradedStatus(min_mean=0.0, low_confidence=0.4, max_low_share=0.3, window=1, margin=0.05)
    assert not d.update(_share(3))      # 0.3 is not above 0.3
    assert d.update(_share(4))          # 0.4 > 0.3
    assert d.update(_share(3))          # 0.3 > 0.25: not yet recovered
    assert not d.update(_share(2))      # 0.2 <= 0.25
    f = d.figures()
    assert f["low_confidence_share"] == "0.200" and f["degraded"] == "False"
    assert f["degraded_episodes"] == "1"


def test_figures_are_the_window_mean():
    d = DegradedStatus(min_mean=0.0, low_confidence=0.4, max_low_share=0.3, window=2)
    assert not d.update(_share(0))
    assert not d.update(_share(5))      # this frame alone is 0.5, the window (0 + 0.5) / 2 = 0.25
    assert d.update(_share(5))          # (0.5 + 0.5) / 2
    assert "0.500 of pixels below 0.400" in d.message()
