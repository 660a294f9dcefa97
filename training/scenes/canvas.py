"""Depth-tested polygon drawing into a Frame, and the metric shapes objects are built from.

Objects are flat, camera-facing cut-outs (plus the visible side face of vehicles, which is a
true vertical plane). Each part is a polygon in metres around the object's ground anchor;
projecting scales it by focal / depth. A pixel is overwritten only where the part is not
behind what is already there, so drawing order does not matter.
"""

from __future__ import annotations

import functools
import math

import cv2
import numpy as np

from training.scenes.camera import Camera
from training.scenes.environment import Frame

Part = tuple[list[np.ndarray], int, tuple[float, ...] | np.ndarray, tuple[float, ...] | None]


def rect(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64)


@functools.cache
def _unit_circle(n: int) -> np.ndarray:
    a = np.linspace(0, 2 * math.pi, n, endpoint=False)
    return np.column_stack([np.cos(a), np.sin(a)])


def ellipse(cx: float, cy: float, rx: float, ry: float, n: int = 18) -> np.ndarray:
    return _unit_circle(n) * (rx, ry) + (cx, cy)


def quad(xb: float, yb: float, xt: float, yt: float) -> np.ndarray:
    """Symmetric trapezoid: half-width xb at height yb, half-width xt at height yt."""
    return np.array([[-xb, yb], [xb, yb], [xt, yt], [-xt, yt]], np.float64)


def mirror(shape: np.ndarray) -> np.ndarray:
    return shape * np.array([-1.0, 1.0])


class Canvas:
    def __init__(self, frame: Frame, camera: Camera):
        self.frame = frame
        self.cam = camera
        self.d_x, self.d_z = camera.column_rays()
        self.lights: list[tuple[float, float, float, float, float, float]] = []  # camera xyz + rgb

    def fill(
        self,
        parts: list[tuple[list[np.ndarray], int, tuple[float, ...] | np.ndarray, tuple[float, ...] | None]],
        depth: float | np.ndarray,
    ) -> None:
        """Fill parts given as pixel-space contours (N, 2 as u, v; several contours make holes)
        at `depth` (a scalar, or a (W,) per-column depth for planes seen at an angle). Later parts
        cover earlier ones; the whole batch is depth-tested against the frame once."""
        hgt, wid = self.frame.label.shape
        pts = np.concatenate([c for contours, *_ in parts for c in contours])
        x0, x1 = max(int(math.floor(pts[:, 0].min())), 0), min(int(math.ceil(pts[:, 0].max())) + 1, wid)
        y0, y1 = max(int(math.floor(pts[:, 1].min())), 0), min(int(math.ceil(pts[:, 1].max())) + 1, hgt)
        if x1 <= x0 or y1 <= y0:
            return
        ids = np.zeros((y1 - y0, x1 - x0), np.uint8)
        for k, (contours, *_) in enumerate(parts):
            # Fixed point (shift=4) keeps sub-pixel positions; cv2 puts pixel centres on integers.
            fixed = [np.round((c - (x0 + 0.5, y0 + 0.5)) * 16).astype(np.int32) for c in contours]
            cv2.fillPoly(ids, fixed, k + 1, cv2.LINE_8, 4)
        d = depth if np.isscalar(depth) else np.asarray(depth)[None, x0:x1]
        sel = (ids > 0) & (d <= self.frame.depth[y0:y1, x0:x1])
        if not sel.any():
            return
        which = ids[sel] - 1
        labels = np.array([p[1] for p in parts], np.uint8)
        colours = np.array([p[2] for p in parts], np.float32)
        emits = np.array([p[3] if p[3] is not None else (0.0, 0.0, 0.0) for p in parts], np.float32)
        self.frame.label[y0:y1, x0:x1][sel] = labels[which]
        self.frame.image[y0:y1, x0:x1][sel] = colours[which]
        self.frame.depth[y0:y1, x0:x1][sel] = d if np.isscalar(d) else np.broadcast_to(d, sel.shape)[sel]
        self.frame.emissive[y0:y1, x0:x1][sel] = emits[which]
        self.frame.ground[y0:y1, x0:x1][sel] = False

    def sprite(self, x: float, z: float, parts: list[Part]) -> float:
        """Draw camera-facing parts anchored on the ground at world (x, z); returns the depth."""
        u0, v0, d = self.cam.project(x, 0.0, z)
        if not d > 0.8:
            return d
        s = self.cam.focal_px / d
        if abs(u0 - self.cam.cx) > self.cam.width + 15 * s:
            return d
        self.fill(
            [
                (
                    [np.column_stack([u0 + s * c[:, 0], v0 - s * c[:, 1]]) for c in contours],
                    label,
                    colour,
                    emit,
                )
                for contours, label, colour, emit in parts
            ],
            d,
        )
        return d

    def side(self, x: float, z: float, parts: list[Part]) -> None:
        """Draw parts lying in the vertical plane X = x; part coordinates are (dz, height) from z."""
        cos, sin = math.cos(self.cam.yaw_rad), math.sin(self.cam.yaw_rad)
        with np.errstate(divide="ignore", invalid="ignore"):
            t_col = np.float32(x) / self.d_x  # (W,) depth of the plane per column
        t_col = np.where(t_col > 0.5, t_col, np.inf).astype(np.float32)
        f, cx, cy, h = self.cam.focal_px, self.cam.cx, self.cam.cy, self.cam.mount_height_m
        projected = []
        for contours, label, colour, emit in parts:
            px = []
            for c in contours:
                zz = z + c[:, 0]
                xc, dc = cos * x - sin * zz, sin * x + cos * zz  # camera frame
                if np.any(dc < 0.5):
                    return
                px.append(np.column_stack([cx + f * xc / dc, cy + f * (h - c[:, 1]) / dc]))
            projected.append((px, label, colour, emit))
        self.fill(projected, t_col)

    def add_light(self, x: float, y_up: float, z: float, rgb: tuple[float, float, float]) -> None:
        xc, zc = self.cam.to_camera(x, z)
        self.lights.append((xc, self.cam.mount_height_m - y_up, zc, *rgb))
