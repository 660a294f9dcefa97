"""Where sent frames went: rejected (bad frames) and processing errors are not drops."""

from __future__ import annotations

import pytest

from rain_seg_ros.replay.replay_eval import frame_outcomes


@pytest.mark.parametrize(("sent", "received", "node", "rejected", "failed", "dropped"), [
    (10, 10, {"bad_frame": 0}, 0, 0, 0),
    (10, 6, {"bad_frame": 3, "processing_error": 0}, 3, 0, 1),      # 1 frame lost besides the 3 bad
    (10, 6, {"bad_frame": 2, "processing_error": 2}, 2, 2, 0),
    (10, 9, {"bad_frame": 5}, 1, 0, 0),   # bad frames from another publisher: at most the missing ones
    (10, 7, None, None, None, 3),          # no diagnostics: unknown, everything missing counts as dropped
])
def test_frame_outcomes(sent, received, node, rejected, failed, dropped):
    run = frame_outcomes(sent, received, node)
    assert (run["rejected"], run["processing_errors"], run["dropped"]) == (rejected, failed, dropped)
    assert run["drop_rate"] == pytest.approx(dropped / sent)
