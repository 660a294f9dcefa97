"""segmentation_node's work on what the graph returned: temporal smoothing per camera
(rain_seg_ros/smoothing.py) and the degraded-status rule (DegradedStatus in diagnostics.py).

Both need the winning-class confidence. Smoothing needs it every frame; the degraded rule only
on every `degraded_every_frames`-th inference (a window of figures over seconds does not need
every frame), so a node with the defaults runs the cheaper mask-only graph (ONNX Runtime: the
graph cut down to `mask`) on the other frames. On a float-logit export the confidence costs a
softmax-max on the host (docs/ros.md has the numbers). The degraded rule looks at the graph's own
confidence, before smoothing (smoothed confidence would hide a sudden drop for a few frames).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from rain_seg_ros.diagnostics import DegradedStatus
from rain_seg_ros.nodes.common import Param
from rain_seg_ros.smoothing import FLOW_METHODS, LabelVoteSmoother

FILTER_PARAMS = (
    Param("smoothing_alpha", 0.0, "Temporal smoothing: weight of the past in the per-pixel label "
          "votes (0 = off).", 0.0, 0.99, read_only=True),
    Param("smoothing_reset_difference", 40.0, "Smoothing restarts when the mean absolute grey "
          "difference of consecutive frames (0..255, at 64 px wide) exceeds this.", 0.0, 255.0,
          read_only=True),
    Param("smoothing_flow", False, "Warp the smoothing state by optical flow before voting.", read_only=True),
    Param("smoothing_flow_method", "farneback", "Optical flow of smoothing_flow.", read_only=True,
          choices=FLOW_METHODS),
    Param("smoothing_flow_width", 64, "Width (px) of the grey frames smoothing_flow runs on.", 16, 4096,
          read_only=True),
    Param("smoothing_keep_below", 1.0, "Smoothing holds only pixels whose new confidence is below "
          "this; a more confident new label passes through (1 = smooth every pixel).", 0.0, 1.0,
          read_only=True),
    Param("degraded_status", True, "Report WARN in /diagnostics when the segmentation's confidence "
          "is low (needs the confidence output of the graph).", read_only=True),
    Param("degraded_mean_confidence", 0.5, "Degraded when the mean winning-class confidence falls "
          "below this.", 0.0, 1.0, read_only=True),
    Param("low_confidence_threshold", 0.5, "A pixel is low-confidence below this confidence.",
          0.0, 1.0, read_only=True),
    Param("degraded_low_share", 0.5, "Degraded when the share of low-confidence pixels exceeds this.",
          0.0, 1.0, read_only=True),
    Param("degraded_window_frames", 5, "Frames averaged for the degraded rule (the frames it judged; "
          "see degraded_every_frames).", 1, 1000, read_only=True),
    Param("degraded_every_frames", 5, "When only the degraded rule needs the confidence (no smoothing, "
          "nobody subscribes to ~/confidence), it is computed on every Nth inference (one frame, or one "
          "batch of cameras); the others run the mask-only graph. 1 = every frame.", 1, 1000,
          read_only=True),
)


class ResultFilters:
    """Smoothing state per camera key and one DegradedStatus for the node."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.alpha = float(params["smoothing_alpha"])
        self.reset_difference = float(params["smoothing_reset_difference"])
        self.flow = bool(params["smoothing_flow"])
        self.keep_below = float(params["smoothing_keep_below"])
        self.flow_setting = (str(params["smoothing_flow_method"]), int(params["smoothing_flow_width"]))
        self.smoothers: dict[Any, LabelVoteSmoother] = {}
        self.degraded: DegradedStatus | None = None
        self.degraded_every = int(params["degraded_every_frames"])
        self._inferences = 0
        if params["degraded_status"]:
            self.degraded = DegradedStatus(float(params["degraded_mean_confidence"]),
                                           float(params["low_confidence_threshold"]),
                                           float(params["degraded_low_share"]),
                                           window=int(params["degraded_window_frames"]))

    def confidence_needed(self) -> bool:
        """Whether the coming inference must compute the confidence for these filters. Call it once
        per inference: it counts them for degraded_every_frames."""
        due = self.degraded is not None and self._inferences % self.degraded_every == 0
        self._inferences += 1
        return self.alpha > 0 or due

    def reset(self) -> None:
        """Drop every camera's smoothing state (at a model switch: the old model's votes are stale)."""
        for smoother in self.smoothers.values():
            smoother.reset()

    def apply(self, key: Any, rgb: np.ndarray, mask: np.ndarray, confidence: np.ndarray | None
              ) -> tuple[np.ndarray, np.ndarray | None, dict[str, float]]:
        """One camera's result -> (mask, confidence) to publish, and the stage timings (ms)."""
        timings: dict[str, float] = {}
        if confidence is None:
            return mask, confidence, timings
        if self.degraded is not None:
            self.degraded.update(confidence)
        if self.alpha > 0:
            t0 = time.monotonic()
            if key not in self.smoothers:
                self.smoothers[key] = LabelVoteSmoother(self.alpha, self.reset_difference, self.flow,
                                                         self.keep_below, *self.flow_setting)
            smoother = self.smoothers[key]
            mask, confidence = smoother.update(rgb, mask, confidence)
            timings["smoothing"] = (time.monotonic() - t0) * 1000
        return mask, confidence, timings

    def state(self) -> tuple[str, dict[str, str]]:
        """(WARN message or "", values) for the node's /diagnostics status."""
        if self.degraded is None:
            return "", {}
        values = self.degraded.figures()
        if self.alpha > 0:
            values["smoothing_resets"] = str(sum(s.resets for s in self.smoothers.values()))
        return (self.degraded.message() if self.degraded.degraded else ""), values
