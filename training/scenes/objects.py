"""Draw a layout's objects: street furniture here, vehicles and people in their own modules."""

from __future__ import annotations

import numpy as np

from rain_seg_ros.labels import class_index
from training.scenes.canvas import Canvas, Part, ellipse, rect
from training.scenes.people import draw_bicycle, draw_person, draw_rider
from training.scenes.populate import Obj
from training.scenes.vehicles import draw_vehicle

POLE, LIGHT, SIGN, VEGETATION = (
    class_index(n) for n in ("pole", "traffic light", "traffic sign", "vegetation")
)
METAL = (0.42, 0.43, 0.45)
LAMP_EMIT = (2.4, 2.0, 1.4)
SIGN_STYLES = (
    ((0.8, 0.1, 0.1), "circle"),
    ((0.1, 0.25, 0.7), "circle"),
    ((0.85, 0.75, 0.1), "triangle"),
    ((0.1, 0.3, 0.7), "rect"),
)


def _street_lamp(canvas: Canvas, obj: Obj) -> None:
    h, arm = obj.size, 1.6 * obj.variant  # the arm reaches over the road
    a0, a1 = sorted((0.0, arm))
    parts: list[Part] = [
        ([rect(-0.09, 0.0, 0.09, h)], POLE, METAL, None),
        ([rect(-0.14, 0.0, 0.14, 1.0)], POLE, METAL, None),
        ([rect(a0 - 0.05, h - 0.12, a1 + 0.05, h)], POLE, METAL, None),
        ([rect(arm - 0.35, h - 0.22, arm + 0.35, h - 0.02)], POLE, (0.3, 0.3, 0.32), None),
        ([rect(arm - 0.28, h - 0.27, arm + 0.28, h - 0.2)], POLE, (0.8, 0.8, 0.75), LAMP_EMIT),
    ]
    if canvas.sprite(obj.x, obj.z, parts) > 0.8:
        canvas.add_light(obj.x + arm, h - 0.3, obj.z, (1.0, 0.82, 0.55))


def _traffic_sign(canvas: Canvas, obj: Obj) -> None:
    colour, shape = SIGN_STYLES[obj.variant % len(SIGN_STYLES)]
    y = 2.3
    if shape == "circle":
        plate = [ellipse(0, y, 0.32, 0.32, 20)]
        inner: np.ndarray | None = ellipse(0, y, 0.22, 0.22, 20) if colour[0] > 0.5 else None
    elif shape == "triangle":
        plate = [np.array([[-0.36, y - 0.3], [0.36, y - 0.3], [0.0, y + 0.34]])]
        inner = None
    else:
        plate = [rect(-0.3, y - 0.3, 0.3, y + 0.3)]
        inner = None
    parts: list[Part] = [([rect(-0.04, 0.0, 0.04, y)], POLE, METAL, None), (plate, SIGN, colour, None)]
    if inner is not None:
        parts.append(([inner], SIGN, (0.92, 0.92, 0.9), None))
    canvas.sprite(obj.x, obj.z, parts)


def _traffic_light(canvas: Canvas, obj: Obj) -> None:
    h = 3.2
    parts: list[Part] = [
        ([rect(-0.07, 0.0, 0.07, h)], POLE, METAL, None),
        ([rect(-0.18, h - 0.05, 0.18, h + 0.85)], LIGHT, (0.1, 0.1, 0.1), None),
    ]
    lamps = ((1.0, 0.1, 0.05), (1.0, 0.65, 0.05), (0.1, 1.0, 0.35))
    for i, col in enumerate(lamps):
        on = i == obj.variant
        c = col if on else tuple(0.25 * v for v in col)
        parts.append(
            (
                [ellipse(0.0, h + 0.67 - i * 0.27, 0.1, 0.1, 12)],
                LIGHT,
                c,
                tuple(2.0 * v for v in col) if on else None,
            )
        )
    canvas.sprite(obj.x, obj.z, parts)


def _tree(canvas: Canvas, obj: Obj) -> None:
    rng = np.random.default_rng(abs(int(obj.x * 1000)) * 7919 + int(obj.z * 1000))  # shape from position
    s = obj.size
    parts: list[Part] = [([rect(-0.13 * s, 0.0, 0.13 * s, 3.0 * s)], VEGETATION, (0.28, 0.2, 0.12), None)]
    for _ in range(6):
        cx, cy = rng.uniform(-1.2, 1.2) * s, rng.uniform(3.2, 5.2) * s
        r = rng.uniform(0.9, 1.6) * s
        shade = rng.uniform(0.7, 1.15)
        parts.append(
            (
                [ellipse(cx, cy, r, r * 0.9, 16)],
                VEGETATION,
                tuple(np.clip(np.asarray(obj.colour) * shade, 0, 1)),
                None,
            )
        )
    canvas.sprite(obj.x, obj.z, parts)


def _pole(canvas: Canvas, obj: Obj) -> None:
    w = 0.08 if obj.size < 2 else 0.14
    canvas.sprite(obj.x, obj.z, [([rect(-w, 0.0, w, obj.size)], POLE, (0.5, 0.5, 0.48), None)])


DRAW = {
    "car": draw_vehicle,
    "truck": draw_vehicle,
    "bus": draw_vehicle,
    "train": draw_vehicle,
    "person": draw_person,
    "bicycle": draw_bicycle,
    "rider_bicycle": draw_rider,
    "rider_motorcycle": draw_rider,
    "street_lamp": _street_lamp,
    "traffic_sign": _traffic_sign,
    "traffic_light": _traffic_light,
    "tree": _tree,
    "pole": _pole,
}


def draw_objects(canvas: Canvas, objects: list[Obj]) -> None:
    for obj in objects:
        DRAW[obj.kind](canvas, obj)
