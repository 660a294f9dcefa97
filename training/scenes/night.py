"""Night rendering of a day image: low ambient light, the ego car's low beams, street-lamp
pools, emitters (lit windows, lamps, vehicle and traffic lights) with glow, and sensor noise.

Works in (approximately) linear light: the day image is de-gamma'd, relit, exposed and
re-gamma'd, so dark areas are crushed and lights bloom as they do on a real camera.

Example:
    night = render_night(rgb_uint8, depth_m, np.random.default_rng(0))
"""

from __future__ import annotations

import cv2
import numpy as np

GAMMA = 2.2
HEADLIGHT_POWER = 10.0  # ego low beams: irradiance ~ power / (z^2 + 4) in the beam
LAMP_POWER = 4.0  # street lamp: irradiance ~ power / (distance^2 + 1)


def render_night(
    image: np.ndarray,
    depth_m: np.ndarray | float | None,
    rng: np.random.Generator,
    *,
    emissive: np.ndarray | None = None,
    lights: np.ndarray | None = None,
    focal_px: float | None = None,
    principal_point: tuple[float, float] | None = None,
) -> np.ndarray:
    """Relight a day image as night.

    Args:
        image: (H, W, 3) uint8 RGB day image.
        depth_m: (H, W) depth in metres, or one number (flat), or None (flat 20 m).
        rng: randomness for ambient level, exposure and sensor noise.
        emissive: (H, W, 3) float light emitted at night (0 = none), linear units ~[0, 3].
        lights: (L, 6) point lights: camera-frame x, y (down), z in metres, then RGB.
        focal_px, principal_point: intrinsics (f, (cx, cy)) placing pixels in 3-D; default W and
            the image centre.
    Returns:
        (H, W, 3) uint8 RGB.
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image must be (H, W, 3) uint8 RGB, got {image.shape} {image.dtype}")
    hgt, wid = image.shape[:2]
    depth = (
        np.full((hgt, wid), 20.0 if depth_m is None else depth_m, np.float32)
        if (depth_m is None or np.isscalar(depth_m))
        else np.asarray(depth_m, np.float32)
    )
    f = float(focal_px or wid)
    cx, cy = principal_point if principal_point is not None else (wid / 2, hgt / 2)
    lin = (image.astype(np.float32) / 255.0) ** GAMMA

    # Illumination varies smoothly: compute it at half resolution, on planar channels.
    h2, w2 = (hgt + 1) // 2, (wid + 1) // 2
    d = cv2.resize(depth, (w2, h2), interpolation=cv2.INTER_NEAREST)
    # Camera-frame positions (x right, y down, z forward) of the half-resolution pixel centres.
    xs = (((np.arange(w2, dtype=np.float32) + 0.5) * (wid / w2) - cx) / f)[None, :] * d
    ys = (((np.arange(h2, dtype=np.float32) + 0.5) * (hgt / h2) - cy) / f)[:, None] * d
    in_range = d <= 300.0
    ambient = float(rng.uniform(0.012, 0.03))
    planes = [np.full((h2, w2), ambient * t, np.float32) for t in (0.75, 0.85, 1.15)]  # skyglow, bluish

    # Ego low beams: a forward cone from just below the camera, cut off above the horizon.
    lateral = xs / np.maximum(d, 0.1)
    below = np.clip((ys + 0.3) / np.maximum(d, 0.1) * 8.0, 0.0, 1.0)
    beam = np.exp(-((lateral / 0.35) ** 2)) * below * HEADLIGHT_POWER / (d**2 + 4.0)
    beam *= np.clip(d - 2.0, 0.0, 1.0) * in_range  # not our own bonnet, not the sky
    for plane, c in zip(planes, (1.0, 0.97, 0.9)):
        plane += beam * c

    # Street lamps: inverse-square pools, strongest on surfaces below the lamp.
    if lights is not None and len(lights):
        near = lights[np.argsort(lights[:, 2])[:12]]
        for lx, ly, lz, r, g, b in near:
            dx, dy, dz = xs - lx, ys - ly, d - lz
            d2 = dx * dx + dy * dy + dz * dz
            facing = np.clip(dy / np.sqrt(d2 + 1e-3), 0.05, 1.0)  # lit from above
            e = LAMP_POWER * facing / (d2 + 1.0) * in_range
            for plane, c in zip(planes, (r, g, b)):
                plane += e * c
    light = cv2.resize(cv2.merge(planes), (wid, hgt), interpolation=cv2.INTER_LINEAR)

    out = lin * light
    if emissive is not None:
        glow_src = np.asarray(emissive, np.float32)
        small = cv2.resize(glow_src, (wid // 4, hgt // 4), interpolation=cv2.INTER_AREA)
        bloom = (
            cv2.GaussianBlur(small, (0, 0), 1.5 * hgt / 256) * 0.5
            + cv2.GaussianBlur(small, (0, 0), 5.0 * hgt / 256) * 0.3
        )
        out += glow_src + cv2.resize(bloom, (wid, hgt), interpolation=cv2.INTER_LINEAR)
    exposure = float(rng.uniform(0.8, 1.2))  # night auto-exposure opens up
    out *= exposure
    # Sensor noise: shot noise ~ sqrt(signal) plus read noise, a little blur from demosaicing.
    noise = rng.standard_normal((hgt, wid, 3), dtype=np.float32)
    out = out + noise * np.sqrt(np.maximum(out, 0) * 0.002 + 0.00003)
    out = np.clip(out, 0.0, 1.0) ** (1 / GAMMA)
    out = cv2.GaussianBlur(out, (0, 0), 0.5)
    return (out * 255 + 0.5).astype(np.uint8)
