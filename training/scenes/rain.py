"""Physically-motivated rain on any RGB image with a depth map (or a flat depth).

Effects, all scaled by `intensity` in [0, 1]:
- attenuation and veiling haze (Koschmieder: I' = I t + A (1 - t), t = exp(-beta d)), growing
  with distance;
- rain streaks in depth layers: a drop at distance d_k shows only in front of surfaces farther
  than d_k; nearer layers are longer, wider, more slanted (motion parallax) and blurrier
  (out of focus), farther layers are short, thin and dense;
- splashes where drops hit the ground (a ground mask; default: the lower third of the frame),
  sized by depth, and a darker wet ground;
- optional drops on the lens: refracting, out-of-focus discs showing a flipped view.

Example:
    rainy = render_rain(rgb_uint8, depth_m, 0.7, np.random.default_rng(0), lens_drops=True)
"""

from __future__ import annotations

import math

import cv2
import numpy as np

# Streak layers: (distance m, drops per 1000 px at intensity 1, length as a fraction of H,
#                 width px at H=256, blur sigma px at H=256, opacity).
LAYERS = (
    (1.5, 0.12, 0.32, 3, 1.8, 0.25),
    (3.5, 0.45, 0.15, 2, 1.0, 0.3),
    (8.0, 1.5, 0.075, 1, 0.5, 0.32),
    (20.0, 4.0, 0.04, 1, 0.0, 0.22),
)
BETA_MAX = 0.02  # 1/m extinction at intensity 1 (visibility ~150 m: heavy rain)
SPLASH_RADIUS_M = 0.07


def _as_depth(depth_m: np.ndarray | float | None, shape: tuple[int, int]) -> np.ndarray:
    if depth_m is None:
        depth_m = 30.0
    if np.isscalar(depth_m):
        return np.full(shape, float(depth_m), np.float32)  # type: ignore[arg-type]
    depth = np.asarray(depth_m, np.float32)
    if depth.shape != shape:
        raise ValueError(f"depth map shape {depth.shape} does not match image shape {shape}")
    return np.where(np.isfinite(depth) & (depth > 0), depth, 1000.0).astype(np.float32)


def _streaks(rng: np.random.Generator, depth: np.ndarray, intensity: float, wind: float) -> np.ndarray:
    """Streak opacity map (H, W) float32 in [0, 1]."""
    hgt, wid = depth.shape
    scale = hgt / 256.0
    total = np.zeros((hgt, wid), np.float32)
    for dist, density, length, width, sigma, alpha in LAYERS:
        n = int(round(intensity * density * hgt * wid / 1000.0))
        if n == 0:
            continue
        angle = wind * (1.0 + 1.5 / dist)  # nearer drops slant more
        lengths = length * hgt * rng.uniform(0.6, 1.3, n)
        start = rng.uniform((-0.2 * wid, -length * hgt), (1.2 * wid, hgt), (n, 2))
        end = start + lengths[:, None] * np.array([math.sin(angle), math.cos(angle)])
        lines = np.round(np.stack([start, end], 1) * 16).astype(np.int32)  # (n, 2, 2) fixed point
        layer: np.ndarray = np.zeros((hgt, wid), np.float32)
        cv2.polylines(layer, list(lines), False, 1.0, max(1, int(round(width * scale))), cv2.LINE_AA, 4)
        if sigma * scale > 0.3:
            layer = cv2.GaussianBlur(layer, (0, 0), sigma * scale)
        total += alpha * np.minimum(layer, 1.0) * (depth > dist)  # occluded by nearer surfaces
    return np.clip(total, 0.0, 1.0)


def _splashes(
    rng: np.random.Generator, depth: np.ndarray, ground: np.ndarray, intensity: float, focal_px: float
) -> np.ndarray:
    hgt, wid = depth.shape
    out = np.zeros((hgt, wid), np.float32)
    idx = np.flatnonzero(ground)
    n = min(int(intensity * idx.size * 0.0015), 250)
    if n == 0:
        return out
    for p in rng.choice(idx, n, replace=False):
        y, x = divmod(int(p), wid)
        r = SPLASH_RADIUS_M * focal_px / max(float(depth[y, x]), 0.5) * rng.uniform(0.6, 1.4)
        if r < 0.7:
            out[y, x] = max(out[y, x], 0.5)
            continue
        rx, ry = max(int(round(r)), 1), max(int(round(r * 0.4)), 1)
        cv2.ellipse(out, (x, y), (rx, ry), 0, 0, 360, 0.3, -1, cv2.LINE_AA)  # ripple
        cv2.ellipse(out, (x, y), (rx, ry), 0, 180, 360, 0.6, 1, cv2.LINE_AA)  # crown rim
        if r > 3:
            cv2.circle(out, (x, y - 2 * ry), max(ry // 2, 1), 0.5, -1, cv2.LINE_AA)  # rebound droplet
    return cv2.GaussianBlur(out, (0, 0), 0.6)


def _wet_ground(img: np.ndarray, ground: np.ndarray, depth: np.ndarray, intensity: float) -> np.ndarray:
    """Darken wet ground and add a reflection. On flat ground a point's mirror image lies as far
    below its ground contact row as the point is above it; mirroring about the horizon (the top of
    the ground) is exact for distant things and a fair blur-hidden guess for near ones."""
    if intensity <= 0 or not ground.any():
        return img
    hgt = img.shape[0]
    horizon = int(np.argmax(ground.any(axis=1)))
    rows = np.clip(2 * horizon - np.arange(hgt), 0, hgt - 1)
    mirror = cv2.blur(img[rows], (3, max(3, hgt // 40)))  # rippled, streaky reflection
    # Fresnel: grazing (far) ground reflects more than ground seen steeply (near).
    strength = (0.1 + 0.35 * np.clip(depth / 40.0, 0, 1)) * intensity * ground
    wet = img * (1 - 0.18 * intensity * ground)[..., None]
    return wet * (1 - strength[..., None]) + mirror * strength[..., None]


def _lens_drops(rng: np.random.Generator, img: np.ndarray, intensity: float) -> np.ndarray:
    """Water drops on the lens: each disc shows a flipped, minified, blurred view of the scene."""
    hgt, wid = img.shape[:2]
    n = int(rng.integers(3, 6) + round(10 * intensity))
    ids = np.zeros((hgt, wid), np.int32)
    centres = np.zeros((n + 1, 2), np.float32)
    radii = np.ones(n + 1, np.float32)
    for i in range(1, n + 1):
        r = float(rng.uniform(0.02, 0.07) * hgt)
        c = (float(rng.uniform(0, wid)), float(rng.uniform(0, hgt)))
        cv2.ellipse(ids, (int(c[0]), int(c[1])), (int(r), int(r * rng.uniform(0.75, 1.0))), 0, 0, 360, i, -1)
        centres[i], radii[i] = c, r
    inside = ids > 0
    if not inside.any():
        return img
    ys, xs = np.mgrid[0:hgt, 0:wid].astype(np.float32)
    cx, cy, rad = centres[ids, 0], centres[ids, 1], radii[ids]
    mag = 2.5  # a drop is a strong lens: it shows a wide, inverted view of what lies around it
    map_x = np.where(inside, cx - (xs - cx) * mag, xs).astype(np.float32)
    map_y = np.where(inside, cy - (ys - cy) * mag - 1.5 * rad, ys).astype(np.float32)
    refr = cv2.remap(img, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    refr = cv2.GaussianBlur(refr, (0, 0), 1.2 * hgt / 256)
    rho = np.sqrt((xs - cx) ** 2 + (ys - cy) ** 2) / rad  # 0 at the centre, 1 at the rim
    rim = np.clip((rho - 0.7) / 0.3, 0, 1)
    refr = refr * (1.0 - 0.45 * rim)[..., None] + 0.08
    alpha = cv2.GaussianBlur(inside.astype(np.float32), (0, 0), 1.0)[..., None]
    return img * (1 - alpha) + refr * alpha


def render_rain(
    image: np.ndarray,
    depth_m: np.ndarray | float | None,
    intensity: float,
    rng: np.random.Generator,
    lens_drops: bool = False,
    *,
    ground_mask: np.ndarray | None = None,
    focal_px: float | None = None,
) -> np.ndarray:
    """Render rain onto an RGB image.

    Args:
        image: (H, W, 3) uint8 RGB.
        depth_m: (H, W) camera depth in metres (sky: large or inf), or one number for a flat
            scene, or None for a flat 30 m.
        intensity: 0 (no rain) .. 1 (downpour).
        rng: source of all randomness (same rng state, same output).
        lens_drops: add refracting drops on the lens.
        ground_mask: (H, W) bool where splashes may land; None = the lower third of the frame.
        focal_px: focal length for splash sizes; None = image width.
    Returns:
        (H, W, 3) uint8 RGB.
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image must be (H, W, 3) uint8 RGB, got {image.shape} {image.dtype}")
    if not 0.0 <= float(intensity) <= 1.0:
        raise ValueError(f"rain intensity must be in [0, 1], got {intensity}")
    hgt, wid = image.shape[:2]
    depth = _as_depth(depth_m, (hgt, wid))
    if ground_mask is None:
        ground_mask = np.zeros((hgt, wid), bool)
        ground_mask[2 * hgt // 3 :] = True
    img = image.astype(np.float32) / 255.0
    luma = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    airlight = float(np.clip(np.percentile(luma[::4, ::4], 90) * 0.9, 0.04, 0.85))
    wind = float(rng.normal(0.0, 0.18))

    # Veiling haze and a duller, greyer light.
    t = np.exp(-BETA_MAX * intensity * np.minimum(depth, 1000.0))[..., None]
    img = img * t + airlight * (1 - t)
    img = img + (luma[..., None] - img) * (0.3 * intensity)
    img *= 1.0 - 0.15 * intensity
    # Wet ground: darker, with a blurred mirror image of what stands above it, then splashes.
    img = _wet_ground(img, ground_mask, depth, intensity)
    splash = _splashes(rng, depth, ground_mask, intensity, float(focal_px or wid))
    streak = _streaks(rng, depth, intensity, wind)
    # Streaks and splashes scatter the ambient light: brighter than most of the scene.
    glow = np.maximum(airlight + 0.25, cv2.blur(img, (9, 9)).max(axis=2, keepdims=True) + 0.1)
    a = np.clip(streak + 0.4 * splash, 0, 1)[..., None]
    img = img * (1 - a) + np.minimum(glow, 1.0) * a
    if intensity > 0:  # rain-laden air softens everything a little
        img = cv2.addWeighted(
            img, 1 - 0.35 * intensity, cv2.GaussianBlur(img, (0, 0), 1.0), 0.35 * intensity, 0
        )
    if lens_drops:
        img = _lens_drops(rng, img, intensity)
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)
