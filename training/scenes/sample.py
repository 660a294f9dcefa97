"""One sample = one layout rendered as clean day, rainy and (optionally) night twins.

Per-sample randomness comes from `np.random.SeedSequence([seed, index])`, split into
independent streams for layout, textures, rain and night, so any sample can be regenerated
alone and a rain or night option never changes a sample's geometry.

Example:
    s = generate_sample(0, 5, SceneSpec(256, 512, rain_range=(0.3, 1.0), night=True))
    s.clean, s.rain, s.night, s.label, s.depth
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from training.scenes.layout import SceneLayout, sample_layout
from training.scenes.night import render_night
from training.scenes.rain import render_rain
from training.scenes.render import render_scene


@dataclass(frozen=True)
class SceneSpec:
    height: int = 256
    width: int = 512
    rain_range: tuple[float, float] = (0.3, 1.0)  # intensity drawn uniformly per sample (lo == hi: fixed)
    night: bool = False
    lens_drops: bool = False


@dataclass
class Sample:
    index: int
    sample_seed: int  # a 64-bit summary of (seed, index), recorded in the manifest
    clean: np.ndarray  # (H, W, 3) uint8 RGB
    rain: np.ndarray  # (H, W, 3) uint8 RGB, same geometry
    night: np.ndarray | None  # (H, W, 3) uint8 RGB, same geometry (only with SceneSpec.night)
    label: np.ndarray  # (H, W) uint8 train ids, 255 = ignore
    depth: np.ndarray  # (H, W) float32 metres
    rain_intensity: float
    layout: SceneLayout


def generate_sample(seed: int, index: int, spec: SceneSpec) -> Sample:
    """Render sample `index` of the run seeded `seed` (pure function of its arguments)."""
    seq = np.random.SeedSequence([seed, index])
    layout_ss, texture_ss, rain_ss, night_ss = seq.spawn(4)
    layout = sample_layout(np.random.default_rng(layout_ss), spec.height, spec.width)
    scene = render_scene(layout, np.random.default_rng(texture_ss))
    cam = layout.camera

    rain_rng = np.random.default_rng(rain_ss)
    lo, hi = spec.rain_range
    # Rounded so that the manifest's value reproduces the image exactly.
    intensity = round(float(rain_rng.uniform(lo, hi)) if hi > lo else float(lo), 4)
    rain = render_rain(
        scene.image,
        scene.depth,
        intensity,
        rain_rng,
        lens_drops=spec.lens_drops,
        ground_mask=scene.ground,
        focal_px=cam.focal_px,
    )
    night = None
    if spec.night:
        night = render_night(
            scene.image,
            scene.depth,
            np.random.default_rng(night_ss),
            emissive=scene.emissive,
            lights=scene.lights,
            focal_px=cam.focal_px,
            principal_point=(cam.cx, cam.cy),
        )
    return Sample(
        index,
        int(seq.generate_state(1, np.uint64)[0]),
        scene.image,
        rain,
        night,
        scene.label,
        scene.depth,
        intensity,
        layout,
    )
