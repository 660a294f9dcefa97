"""Temporal smoothing of segmentation results by confidence-weighted label votes (ROS-free).

It smooths what the graph returns — uint8 class ids and uint8 winning-class confidence — so no
float logits ever come back to the host. Per pixel it keeps a (label, strength) state, with
strength in [0, 1] and `alpha` in [0, 1) the weight of the past (0 = no smoothing):

    new label == state label:  strength = alpha * strength + (1 - alpha) * confidence
    new label != state label:  margin   = alpha * strength - (1 - alpha) * confidence
                               margin >  0: keep the label, strength = margin
                               margin <= 0: the new label wins, strength = -margin

so a label flips only when the new evidence outweighs what the state has accumulated (a tie
goes to the newest frame, which makes alpha 0 an exact pass-through). With `keep_below` < 1, a
pixel whose new confidence is at or above it passes through (label = new label, strength = its
confidence): the past only steadies the pixels the model is unsure of — those are the ones that
flicker, while a confident new label is mostly right, and holding it back costs mIoU wherever
the moving camera shifts a boundary. The
state is dropped (the next frame passes through) on a large scene change — mean absolute
difference of a downsampled grey frame above `reset_difference` grey levels —, when the
frame size changes, and on reset() (the node calls it at a model switch). With `flow`, the
state (labels and strength) is first warped to the new frame by optical flow computed on a grey
frame `flow_width` px wide: `flow_method` "farneback" (2 levels, 9 px window: the first version),
"farneback_fine" (4 levels, 15 px window, 3 iterations) or OpenCV's DIS flow "dis_ultrafast" /
"dis_fast" / "dis_medium" (patch-based, built for fast dense flow on CPU).

Example:
    smoother = LabelVoteSmoother(alpha=0.6)
    mask, confidence = smoother.update(rgb, mask, confidence)    # all (H, W) / (H, W, 3) uint8
"""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np

THUMB_WIDTH = 64  # the scene-change test runs on a grey frame this wide (reset_difference's scale)
FLOW_METHODS = ("farneback", "farneback_fine", "dis_ultrafast", "dis_fast", "dis_medium")
_DIS_PRESETS = {"dis_ultrafast": cv2.DISOpticalFlow_PRESET_ULTRAFAST,
                "dis_fast": cv2.DISOpticalFlow_PRESET_FAST, "dis_medium": cv2.DISOpticalFlow_PRESET_MEDIUM}


def shrink_grey(grey: np.ndarray, width: int) -> np.ndarray:
    """(H, W) uint8 grey -> (h, width) uint8, area-averaged (h keeps the aspect ratio)."""
    h, w = grey.shape
    size = (min(width, w), max(1, round(h * min(width, w) / w)))
    return cv2.resize(grey, size, interpolation=cv2.INTER_AREA)


class LabelVoteSmoother:
    """One camera's smoothing state.

    Args:
        alpha: weight of the past in [0, 1); 0 passes frames through unchanged.
        reset_difference: mean absolute grey difference (0..255) of consecutive thumbnails above
            which the scene counts as changed and the state is dropped.
        flow: warp the state by optical flow before voting.
        keep_below: confidence (0..1) from which a new label passes through unsmoothed; 1 (the
            default) votes on every pixel.
        flow_method: one of FLOW_METHODS.
        flow_width: width (px) of the grey frames the flow is computed on (capped at the frame's).
    """

    def __init__(self, alpha: float, reset_difference: float = 40.0, flow: bool = False,
                 keep_below: float = 1.0, flow_method: str = "farneback",
                 flow_width: int = THUMB_WIDTH) -> None:
        if not 0.0 <= alpha < 1.0:
            raise ValueError(f"smoothing alpha must be in [0, 1), got {alpha}")
        if not 0.0 <= keep_below <= 1.0:
            raise ValueError(f"smoothing keep_below must be in [0, 1], got {keep_below}")
        if flow_method not in FLOW_METHODS:
            raise ValueError(f"smoothing flow_method must be one of {', '.join(FLOW_METHODS)}, "
                             f"got {flow_method!r}")
        if flow_width < 16:
            raise ValueError(f"smoothing flow_width must be >= 16 px, got {flow_width}")
        self.flow_method, self.flow_width = flow_method, int(flow_width)
        # one DIS instance per camera: it keeps buffers for the size it saw
        self._dis = cv2.DISOpticalFlow.create(_DIS_PRESETS[flow_method]) if flow_method in _DIS_PRESETS \
            else None
        self.alpha = alpha
        self.keep_below = keep_below
        # on the uint8 confidence c: c / 255 >= keep_below <=> c >= ceil(255 * keep_below); 256 = never
        self._keep_from = 256 if keep_below >= 1.0 else math.ceil(round(255 * keep_below, 6))
        self.reset_difference = reset_difference
        self.flow = flow
        self.resets = 0  # scene changes seen (not counting the first frame or reset())
        self._label: np.ndarray | None = None      # (H, W) uint8
        self._strength: np.ndarray | None = None   # (H, W) float32 in [0, 1]
        self._thumb: np.ndarray | None = None      # (h, w) uint8 grey of the previous frame
        self._flow_grey: np.ndarray | None = None  # (h', flow_width) uint8 grey of the previous frame
        self._grid: np.ndarray | None = None       # (H, W, 2) float32 pixel coordinates (flow)

    def reset(self) -> None:
        self._label = self._strength = None

    def update(self, rgb: np.ndarray, mask: np.ndarray,
               confidence: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One frame: (H, W, 3) RGB, (H, W) uint8 ids and confidence -> smoothed (ids, confidence)."""
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)   # once: the reset test and the flow share it
        thumb = shrink_grey(grey, THUMB_WIDTH)
        previous, self._thumb = self._thumb, thumb
        previous_grey = self._flow_grey
        if self.flow:
            same = self.flow_width == THUMB_WIDTH
            self._flow_grey = thumb if same else shrink_grey(grey, self.flow_width)
        conf = confidence.astype(np.float32) * np.float32(1 / 255)
        if self._label is None or self._label.shape != mask.shape or previous is None \
                or previous.shape != thumb.shape:
            return self._restart(mask, conf)
        if float(np.mean(cv2.absdiff(previous, thumb))) > self.reset_difference:
            self.resets += 1
            return self._restart(mask, conf)
        label, strength = self._label, self._strength
        assert strength is not None
        if self.flow and previous_grey is not None and self._flow_grey is not None \
                and previous_grey.shape == self._flow_grey.shape:
            label, strength = self._warp(previous_grey, self._flow_grey, label, strength)
        # in place on float32 (H, W) arrays: a few passes over memory, no temporaries per term
        new = conf * np.float32(1.0 - self.alpha)
        np.negative(new, out=new, where=label != mask)           # other label: it votes against
        margin = strength * np.float32(self.alpha)
        margin += new
        flipped = margin <= 0
        np.copyto(label, mask, where=flipped)  # in place: the state's own array (or its warped copy)
        strength = np.abs(margin, out=margin)
        if self._keep_from <= 255:
            # confident pixels take the new frame as it is; OpenCV's masked copies on the uint8
            # confidence cost about a third of numpy's `where=` on floats
            _, confident = cv2.threshold(confidence, self._keep_from - 1, 255, cv2.THRESH_BINARY)  # c >= from
            label = cv2.copyTo(mask, confident, label)          # in place (the result is kept in
            strength = cv2.copyTo(conf, confident, strength)    # case OpenCV had to reallocate)
        self._label, self._strength = label, strength
        return label.copy(), self._confidence()

    def _restart(self, mask: np.ndarray, conf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self._label, self._strength = mask.copy(), conf
        return mask.copy(), self._confidence()

    def _confidence(self) -> np.ndarray:
        assert self._strength is not None
        # round to nearest and saturate to uint8 in one multithreaded pass (numpy takes ~10x longer)
        return cv2.convertScaleAbs(self._strength, alpha=255.0)

    def _warp(self, previous: np.ndarray, current: np.ndarray, label: np.ndarray,
              strength: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Move the state from the previous frame onto the current one (backward mapping)."""
        # flow from current to previous: current(y, x) ~ previous(y + fy, x + fx)
        flow = self._flow(current, previous)                         # (h, w, 2) float32
        h, w = label.shape
        scale = np.array([w / current.shape[1], h / current.shape[0]], np.float32)  # thumbnail px -> px
        flow = cv2.resize(np.asarray(flow) * scale, (w, h), interpolation=cv2.INTER_LINEAR)  # (H, W, 2)
        if self._grid is None or self._grid.shape[:2] != (h, w):   # pixel coordinates, kept per size
            gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
            self._grid = np.dstack([gx, gy])
        maps = flow + self._grid                                     # (H, W, 2) where each pixel was
        no_map2: Any = None  # the (x, y) pairs are all in `maps`; OpenCV's stubs do not allow None
        warped_label = cv2.remap(label, maps, no_map2, cv2.INTER_NEAREST, borderMode=cv2.BORDER_REPLICATE)
        warped_strength = cv2.remap(strength, maps, no_map2, cv2.INTER_NEAREST,
                                    borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
        return warped_label, warped_strength

    def _flow(self, current: np.ndarray, previous: np.ndarray) -> np.ndarray:
        """(h, w, 2) float32 flow from `current` to `previous` grey frames, in their pixels."""
        start = np.zeros((*current.shape, 2), np.float32)  # DIS: only the output (no initial flow set)
        if self._dis is not None:
            return np.asarray(self._dis.calc(current, previous, start))
        if self.flow_method == "farneback_fine":  # a deeper pyramid and a wider window: larger shifts
            levels, window, iterations = 4, 15, 3
        else:  # the first version: 2 levels, 9 px window, 2 iterations
            levels, window, iterations = 2, 9, 2
        flow = cv2.calcOpticalFlowFarneback(current, previous, start, 0.5, levels, window, iterations,
                                            5, 1.1, 0)
        return np.asarray(flow)
