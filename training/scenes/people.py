"""Pedestrians, cyclists, motorcyclists and parked bicycles (camera-facing cut-outs)."""

from __future__ import annotations

import numpy as np

from rain_seg_ros.labels import class_index
from training.scenes.canvas import Canvas, Part, ellipse, mirror, quad, rect
from training.scenes.populate import Obj

PERSON, RIDER, MOTORCYCLE, BICYCLE = (class_index(n) for n in ("person", "rider", "motorcycle", "bicycle"))
SKIN = ((0.87, 0.7, 0.58), (0.6, 0.42, 0.3), (0.38, 0.26, 0.18), (0.8, 0.62, 0.5))
DARK = (0.06, 0.06, 0.07)


def _figure(
    lab: int,
    height: float,
    *,
    shirt: tuple[float, ...],
    pants: tuple[float, ...],
    variant: int,
    y0: float = 0.0,
    legs: bool = True,
) -> list[Part]:
    """A standing human of `height` metres, feet at y0 (shape in metres, scaled by height)."""
    s = height / 1.75
    skin = SKIN[variant % len(SKIN)]
    stride = 0.05 * (variant % 3)

    def poly(*pts: tuple[float, float]) -> np.ndarray:
        return np.array([(x * s, y0 + y * s) for x, y in pts])

    parts: list[Part] = []
    if legs:
        leg = poly((-0.16, 0.92), (-0.01, 0.92), (-0.04, 0.06), (-0.13 - stride, 0.06))
        shoe = poly((-0.15 - stride, 0.0), (-0.02, 0.0), (-0.03, 0.07), (-0.14 - stride, 0.07))
        parts += [([leg, mirror(leg)], lab, pants, None), ([shoe, mirror(shoe)], lab, DARK, None)]
    hem = 0.62 if variant == 2 else 0.86  # coat or jacket
    torso = poly((-0.18, hem), (0.18, hem), (0.2, 1.3), (0.15, 1.44), (-0.15, 1.44), (-0.2, 1.3))
    arm = poly((-0.2, 1.42), (-0.13, 1.38), (-0.2, 0.86), (-0.28, 0.88))
    parts += [
        ([torso], lab, shirt, None),
        ([arm, mirror(arm)], lab, shirt, None),
        (
            [
                ellipse(-0.245 * s, y0 + 0.83 * s, 0.04 * s, 0.05 * s, 8),
                ellipse(0.245 * s, y0 + 0.83 * s, 0.04 * s, 0.05 * s, 8),
            ],
            lab,
            skin,
            None,
        ),
        ([rect(-0.045 * s, y0 + 1.42 * s, 0.045 * s, y0 + 1.52 * s)], lab, skin, None),
        ([ellipse(0, y0 + 1.62 * s, 0.095 * s, 0.12 * s, 14)], lab, skin, None),
        ([ellipse(0, y0 + 1.69 * s, 0.1 * s, 0.065 * s, 12)], lab, DARK, None),
    ]
    if variant == 3:  # umbrella
        dome = ellipse(0, 1.98, 0.5, 0.2, 24)
        canopy = dome[dome[:, 1] >= 1.98 - 1e-9] * s + (0, y0)
        parts += [
            ([rect(0.22 * s, y0 + 0.85 * s, 0.24 * s, y0 + 2.0 * s)], lab, DARK, None),
            ([canopy], lab, pants, None),
        ]
    return parts


def _wheel_side(cx: float, lab: int, r: float = 0.34) -> Part:
    return ([ellipse(cx, r, r, r, 16), ellipse(cx, r, r * 0.8, r * 0.8, 16)], lab, DARK, None)


def _bicycle_side(lab: int, colour: tuple[float, ...]) -> list[Part]:
    frame = [
        np.array([[-0.5, 0.34], [0.0, 0.36], [0.45, 0.8], [-0.2, 0.8]]),
        np.array([[-0.45, 0.34], [-0.05, 0.36], [0.4, 0.76], [-0.15, 0.76]]),
    ]  # ring = tube outline
    return [
        _wheel_side(-0.55, lab),
        _wheel_side(0.55, lab),
        (frame, lab, colour, None),
        ([rect(0.5, 0.34, 0.55, 0.95), rect(0.38, 0.92, 0.62, 0.97)], lab, DARK, None),
        ([rect(-0.25, 0.8, -0.05, 0.86)], lab, DARK, None),
    ]


def draw_person(canvas: Canvas, obj: Obj) -> None:
    canvas.sprite(
        obj.x,
        obj.z,
        _figure(PERSON, 1.75 * obj.size, shirt=obj.colour, pants=obj.colour2, variant=obj.variant),
    )


def draw_bicycle(canvas: Canvas, obj: Obj) -> None:
    canvas.sprite(obj.x, obj.z, _bicycle_side(BICYCLE, obj.colour))


def draw_rider(canvas: Canvas, obj: Obj) -> None:
    """Rider seen from behind on a bicycle or motorcycle; the vehicle keeps its own label."""
    moto = obj.kind == "rider_motorcycle"
    lab = MOTORCYCLE if moto else BICYCLE
    if moto:
        bike: list[Part] = [
            ([rect(-0.09, 0.0, 0.09, 0.6)], lab, DARK, None),
            ([quad(0.3, 0.45, 0.22, 0.95)], lab, obj.colour, None),
            ([rect(-0.12, 0.62, 0.12, 0.72)], lab, (0.55, 0.05, 0.04), (1.4, 0.12, 0.06)),
        ]
        seat = 0.85
    else:
        bike = [
            ([rect(-0.025, 0.0, 0.025, 0.68)], lab, DARK, None),
            ([rect(-0.3, 0.95, 0.3, 1.0)], lab, DARK, None),
            ([rect(-0.06, 0.62, 0.06, 0.7)], lab, (0.7, 0.1, 0.05), None),
        ]
        seat = 0.8
    rider = _figure(
        RIDER,
        1.75,
        shirt=obj.colour2,
        pants=(0.15, 0.15, 0.2),
        variant=obj.variant % 3,
        y0=seat - 0.8,
        legs=False,
    )
    rider += [
        (
            [rect(-0.2, seat - 0.5, -0.08, seat + 0.05), rect(0.08, seat - 0.5, 0.2, seat + 0.05)],
            RIDER,
            (0.15, 0.15, 0.2),
            None,
        )
    ]
    if moto:
        rider.append(([ellipse(0, seat + 0.82, 0.15, 0.16, 12)], RIDER, obj.colour, None))  # helmet
    canvas.sprite(obj.x, obj.z, bike + rider)
