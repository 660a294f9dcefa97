"""Cars, trucks, buses and trams as a camera-facing end face plus the visible side face."""

from __future__ import annotations

import numpy as np

from rain_seg_ros.labels import class_index
from training.scenes.canvas import Canvas, Part, ellipse, mirror, quad, rect
from training.scenes.populate import Obj

CAR, TRUCK, BUS, TRAIN = (class_index(n) for n in ("car", "truck", "bus", "train"))
GLASS = (0.1, 0.12, 0.15)
TYRE = (0.05, 0.05, 0.05)
TAIL = (0.55, 0.05, 0.04)
TAIL_EMIT = (1.4, 0.12, 0.06)
HEAD = (0.85, 0.85, 0.8)
HEAD_EMIT = (2.2, 2.0, 1.7)
# name -> (label, width, height, length)
DIMENSIONS = {
    "car": (CAR, 1.8, 1.5, 4.5),
    "truck": (TRUCK, 2.45, 3.4, 8.5),
    "bus": (BUS, 2.5, 3.1, 11.5),
    "train": (TRAIN, 2.6, 3.5, 25.0),
}


def _shade(c: tuple[float, float, float], k: float) -> tuple[float, float, float]:
    return (c[0] * k, c[1] * k, c[2] * k)


def _pair(shape: np.ndarray) -> list[np.ndarray]:
    return [shape, mirror(shape)]


def _end_face(
    kind: str, lab: int, *, w: float, h: float, col: tuple[float, float, float], front: bool, variant: int
) -> list[Part]:
    """Rear (front=False) or front face, in metres around the ground anchor."""
    hw = w / 2
    parts: list[Part] = [(_pair(rect(-hw + 0.08, 0.0, -hw + 0.4, 0.4)), lab, TYRE, None)]
    if kind == "car":
        roof = h - 0.1 * (variant % 2)
        parts += [
            (([rect(-hw, 0.22, hw, 0.95)]), lab, col, None),
            ([quad(hw - 0.04, 0.95, hw - 0.3, roof)], lab, _shade(col, 0.9), None),
            ([quad(hw - 0.16, 1.0, hw - 0.36, roof - 0.07)], lab, GLASS, None),
            ([rect(-hw, 0.22, hw, 0.36)], lab, _shade(col, 0.55), None),
            ([rect(-0.26, 0.42, 0.26, 0.54)], lab, (0.85, 0.85, 0.8), None),
        ]
        lamp_y = (0.66, 0.84)
    else:
        top_glass = (h * 0.55, h - 0.2) if kind in ("bus", "train") or front else (h * 0.9, h * 0.9)
        parts += [
            ([rect(-hw, 0.3, hw, h)], lab, col, None),
            ([rect(-hw, 0.3, hw, 0.6)], lab, _shade(col, 0.5), None),
        ]
        if top_glass[1] > top_glass[0]:
            parts.append(([rect(-hw + 0.12, top_glass[0], hw - 0.12, top_glass[1])], lab, GLASS, None))
        if kind == "truck" and not front:
            parts.append(([rect(-0.02, 0.65, 0.02, h - 0.1)], lab, _shade(col, 0.6), None))  # door seam
        lamp_y = (0.7, 0.9)
    if front:
        parts.append((_pair(rect(-hw + 0.1, lamp_y[0], -hw + 0.42, lamp_y[1] - 0.04)), lab, HEAD, HEAD_EMIT))
        if kind == "car":
            parts.append(([rect(-0.4, lamp_y[0], 0.4, lamp_y[1] - 0.06)], lab, (0.12, 0.12, 0.13), None))
    else:
        parts.append((_pair(rect(-hw + 0.06, lamp_y[0], -hw + 0.36, lamp_y[1])), lab, TAIL, TAIL_EMIT))
    return parts


def _side_face(kind: str, lab: int, h: float, length: float, col: tuple[float, float, float]) -> list[Part]:
    """Side face in (dz from the near end, height) coordinates."""
    body_top = 0.95 if kind == "car" else h
    parts: list[Part] = [([rect(0.0, 0.22, length, body_top)], lab, _shade(col, 0.78), None)]
    if kind == "car":
        parts += [
            (
                [np.array([[0.5, 0.95], [length - 0.7, 0.95], [length - 1.3, h - 0.05], [1.1, h - 0.05]])],
                lab,
                _shade(col, 0.7),
                None,
            ),
            (
                [np.array([[0.7, 1.0], [length - 0.9, 1.0], [length - 1.4, h - 0.12], [1.2, h - 0.12]])],
                lab,
                GLASS,
                None,
            ),
        ]
        wheels: tuple[float, ...] = (0.8, length - 0.9)
    else:
        parts.append(([rect(0.3, h * 0.55, length - 0.3, h - 0.25)], lab, GLASS, None))
        n = max(int(length / 1.6), 2)
        for i in range(1, n):  # window pillars
            zp = 0.3 + i * (length - 0.6) / n
            parts.append(([rect(zp - 0.06, h * 0.55, zp + 0.06, h - 0.25)], lab, _shade(col, 0.78), None))
        wheels = (1.4, length - 2.0) if kind != "train" else (2.0, 4.0, length - 4.0, length - 2.0)
    for zw in wheels:
        parts.append(([ellipse(zw, 0.36, 0.36, 0.36, 14)], lab, TYRE, None))
    return parts


def draw_vehicle(canvas: Canvas, obj: Obj) -> None:
    lab, w, h, length = DIMENSIONS[obj.kind]
    if obj.kind == "car":
        h += 0.12 * (obj.variant - 1.5)
    front = obj.facing < 0
    # The side nearest the camera's lane shows when the vehicle is off to one side.
    if obj.x - w / 2 > 0.3:
        canvas.side(obj.x - w / 2, obj.z, _side_face(obj.kind, lab, h, length, obj.colour))
    elif obj.x + w / 2 < -0.3:
        canvas.side(obj.x + w / 2, obj.z, _side_face(obj.kind, lab, h, length, obj.colour))
    canvas.sprite(
        obj.x, obj.z, _end_face(obj.kind, lab, w=w, h=h, col=obj.colour, front=front, variant=obj.variant)
    )
