"""Pinhole camera on a flat ground plane, and the ray geometry the renderer casts.

World frame: X to the right, Z forward along the road, heights Y measured up from the ground.
The camera sits at (X=0, Y=mount_height_m, Z=0), looks along +Z turned by `yaw_rad` about the
vertical axis, with zero pitch and roll, so the horizon is the image row `cy`.
A pixel (u, v) has the camera-frame ray r = ((u - cx)/f, (v - cy)/f, 1); a surface hit at ray
parameter t lies at camera-frame depth t (the z component of r is 1), which is what the depth
maps store (Cityscapes-style planar depth, not range).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Camera:
    height: int  # image rows
    width: int  # image columns
    focal_px: float
    cx: float
    cy: float  # horizon row (zero pitch)
    mount_height_m: float
    yaw_rad: float = 0.0

    def column_rays(self) -> tuple[np.ndarray, np.ndarray]:
        """World-frame (dX, dZ) of each column's rays, both (W,) float32."""
        a = (np.arange(self.width, dtype=np.float32) + 0.5 - self.cx) / self.focal_px
        c, s = math.cos(self.yaw_rad), math.sin(self.yaw_rad)
        return (c * a + s).astype(np.float32), (-s * a + c).astype(np.float32)

    def row_rays(self) -> np.ndarray:
        """Downward slope (v - cy)/f of each row's rays, (H,) float32."""
        return ((np.arange(self.height, dtype=np.float32) + 0.5 - self.cy) / self.focal_px).astype(np.float32)

    def to_camera(self, x: float, z: float) -> tuple[float, float]:
        """World ground position (X, Z) -> camera-frame (x, depth)."""
        c, s = math.cos(self.yaw_rad), math.sin(self.yaw_rad)
        return c * x - s * z, s * x + c * z

    def project(self, x: float, y_up: float, z: float) -> tuple[float, float, float]:
        """World point (X, height, Z) -> (u, v, depth). Depth <= 0 means behind the camera."""
        xc, depth = self.to_camera(x, z)
        if depth <= 1e-3:
            return math.nan, math.nan, depth
        u = self.cx + self.focal_px * xc / depth
        v = self.cy + self.focal_px * (self.mount_height_m - y_up) / depth
        return u, v, depth

    def pixel_points(self, depth: np.ndarray) -> np.ndarray:
        """Camera-frame 3-D points (H, W, 3) of every pixel from a depth map (x right, y down, z fwd)."""
        h, w = depth.shape
        xs = (np.arange(w, dtype=np.float32) + 0.5 - self.cx) / self.focal_px
        ys = (np.arange(h, dtype=np.float32) + 0.5 - self.cy) / self.focal_px
        return np.stack([xs[None, :] * depth, ys[:, None] * depth, depth], axis=-1)
