"""Procedural adverse-weather street scenes (see docs/scenes.md).

Public entry points:
    generate_sample(seed, index, SceneSpec(...))  -> clean / rain / night twins, labels, depth
    render_rain(rgb_uint8, depth_m, intensity, rng, lens_drops=False)   rain on any image
    render_night(rgb_uint8, depth_m, rng, emissive=None, lights=None)    night on any image
"""

from training.scenes.night import render_night
from training.scenes.rain import render_rain
from training.scenes.sample import Sample, SceneSpec, generate_sample

__all__ = ["Sample", "SceneSpec", "generate_sample", "render_night", "render_rain"]
