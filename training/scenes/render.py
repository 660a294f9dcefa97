"""Render a layout into the clean day image, train-id labels, depth and night light sources."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from rain_seg_ros.labels import IGNORE_INDEX
from training.scenes.canvas import Canvas
from training.scenes.environment import render_environment
from training.scenes.layout import SceneLayout
from training.scenes.objects import draw_objects
from training.scenes.textures import random_tile

HOOD_DEPTH_M = 1.5


@dataclass
class Scene:
    image: np.ndarray  # (H, W, 3) uint8 RGB, clean day
    label: np.ndarray  # (H, W) uint8 train ids, 255 = ignore (ego hood)
    depth: np.ndarray  # (H, W) float32 metres
    emissive: np.ndarray  # (H, W, 3) float32 night emitters
    ground: np.ndarray  # (H, W) bool road + sidewalk
    lights: np.ndarray  # (L, 6) float32 street lamps: camera-frame x, y (down), z, then RGB
    linear: np.ndarray  # (H, W, 3) float32 day image before quantisation (night input)


def render_scene(layout: SceneLayout, rng: np.random.Generator) -> Scene:
    """`rng` only feeds textures; geometry and labels come from the layout alone."""
    tiles = {"fine": random_tile(rng, 256, beta=1.0, low_cut=4.0), "coarse": random_tile(rng, 256, beta=2.0)}
    frame = render_environment(layout, tiles)
    canvas = Canvas(frame, layout.camera)
    draw_objects(canvas, layout.objects)
    hgt, wid = frame.label.shape
    if layout.hood_rows > 0:
        rows = slice(hgt - layout.hood_rows, hgt)
        grad = np.linspace(1.0, 0.6, layout.hood_rows, dtype=np.float32)[:, None, None]
        frame.image[rows] = layout.hood_colour * 0.6 * grad
        frame.label[rows] = IGNORE_INDEX
        frame.depth[rows] = HOOD_DEPTH_M
        frame.emissive[rows] = 0.0
        frame.ground[rows] = False
    # Surface grain everywhere, then a slight optical blur so edges are not pixel-perfect.
    grain = tiles["fine"][np.ix_(np.arange(hgt) % 256, np.arange(wid) % 256)]
    image = np.clip(cv2.GaussianBlur(frame.image * (1.0 + 0.035 * grain[..., None]), (0, 0), 0.6), 0.0, 1.0)
    lights = np.asarray(canvas.lights, np.float32).reshape(-1, 6)
    return Scene(
        (image * 255 + 0.5).astype(np.uint8),
        frame.label,
        frame.depth,
        frame.emissive,
        frame.ground,
        lights,
        image,
    )
