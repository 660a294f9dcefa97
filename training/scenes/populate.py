"""Traffic and street furniture: where cars, people, poles, signs, lights and trees stand.

Positions are world metres (X across, Z along the road); objects.py turns each `Obj` into
labelled polygons.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from training.scenes.layout import Ground

VEHICLE_LENGTH_M = {
    "car": 4.5,
    "truck": 8.5,
    "bus": 11.5,
    "train": 25.0,
    "rider_bicycle": 1.8,
    "rider_motorcycle": 2.1,
}
CAR_COLOURS = (
    (0.8, 0.8, 0.82),
    (0.1, 0.1, 0.12),
    (0.6, 0.08, 0.08),
    (0.15, 0.25, 0.55),
    (0.5, 0.5, 0.52),
    (0.9, 0.9, 0.88),
    (0.2, 0.35, 0.25),
    (0.75, 0.6, 0.2),
    (0.35, 0.2, 0.15),
)
CLOTHES = (
    (0.1, 0.1, 0.12),
    (0.2, 0.25, 0.45),
    (0.6, 0.1, 0.1),
    (0.85, 0.85, 0.8),
    (0.4, 0.4, 0.35),
    (0.15, 0.35, 0.2),
    (0.7, 0.55, 0.3),
    (0.5, 0.2, 0.45),
)


@dataclass
class Obj:
    kind: str  # car, truck, bus, train, person, rider_bicycle, rider_motorcycle, bicycle,
    # street_lamp, traffic_sign, traffic_light, tree, pole
    x: float  # world X of the footprint centre
    z: float  # world Z of the face nearest the camera
    facing: int = 1  # +1 seen from behind (driving away), -1 seen from the front, 0 side view
    colour: tuple[float, float, float] = (0.5, 0.5, 0.5)
    size: float = 1.0  # kind-specific scale
    variant: int = 0  # kind-specific style (sign shape, lamp side, ...)
    colour2: tuple[float, float, float] = (0.2, 0.2, 0.2)


def _pick(
    rng: np.random.Generator, table: tuple[tuple[float, float, float], ...]
) -> tuple[float, float, float]:
    base = np.asarray(table[int(rng.integers(len(table)))])
    c = np.clip(base + rng.uniform(-0.05, 0.05, 3), 0, 1)
    return float(c[0]), float(c[1]), float(c[2])


def _vehicle_kind(rng: np.random.Generator) -> str:
    r = rng.random()
    return (
        "car"
        if r < 0.78
        else "truck"
        if r < 0.87
        else "bus"
        if r < 0.94
        else ("rider_motorcycle" if r < 0.97 else "rider_bicycle")
    )


def populate(
    rng: np.random.Generator,
    ground: Ground,
    *,
    lane_w: float,
    n_lanes: int,
    n_away: int,
    two_way: bool,
    end_z: float,
) -> list[Obj]:
    """Draw the objects of one scene (list order is irrelevant: drawing is depth-tested)."""
    out: list[Obj] = []
    x0, x1 = ground.road
    n_oncoming = n_lanes - n_away if two_way else 0
    far = min(end_z - 6.0, 120.0)

    # Moving traffic, lane by lane; the ego lane keeps a few metres free in front of the camera.
    for lane in range(n_lanes):
        xc = x0 + (lane + 0.5) * lane_w
        facing = -1 if lane < n_oncoming else 1
        z = float(rng.uniform(7.0, 30.0)) if abs(xc) > 0.1 else float(rng.uniform(9.0, 40.0))
        while z < far and len(out) < 14:
            kind = _vehicle_kind(rng)
            jitter = float(rng.uniform(-0.3, 0.3))
            out.append(
                Obj(
                    kind,
                    xc + jitter,
                    z,
                    facing,
                    _pick(rng, CAR_COLOURS),
                    variant=int(rng.integers(4)),
                    colour2=_pick(rng, CLOTHES),
                )
            )
            z += VEHICLE_LENGTH_M[kind] + float(rng.exponential(25.0)) + 4.0
    if rng.random() < 0.08:  # a tram
        lane = int(rng.integers(n_lanes))
        out.append(
            Obj(
                "train",
                x0 + (lane + 0.5) * lane_w,
                float(rng.uniform(14.0, 60.0)),
                -1 if lane < n_oncoming else 1,
                _pick(rng, ((0.85, 0.85, 0.8), (0.8, 0.15, 0.1))),
            )
        )
    # Parked cars along the kerbs.
    for xk in (x0 + 1.1, x1 - 1.1):
        if rng.random() < 0.45 and n_lanes >= 3:
            z = float(rng.uniform(3.0, 12.0))
            stop = float(rng.uniform(30.0, 80.0))
            while z < min(stop, far):
                out.append(Obj("car", xk, z, 1, _pick(rng, CAR_COLOURS), variant=int(rng.integers(4))))
                z += 4.5 + float(rng.uniform(0.8, 8.0))
    # Cyclists and motorcyclists near the right kerb.
    for _ in range(int(rng.integers(0, 3))):
        kind = "rider_bicycle" if rng.random() < 0.7 else "rider_motorcycle"
        out.append(
            Obj(
                kind,
                x1 - float(rng.uniform(0.6, 1.4)),
                float(rng.uniform(6.0, 50.0)),
                1,
                _pick(rng, CAR_COLOURS),
                colour2=_pick(rng, CLOTHES),
            )
        )

    walks = ((ground.walk_left, x0), (x1, ground.walk_right))
    # Pedestrians on the sidewalks, and crossing at the zebra.
    for _ in range(int(rng.integers(1, 11))):
        a, b = walks[int(rng.integers(2))]
        out.append(
            Obj(
                "person",
                float(rng.uniform(a + 0.4, b - 0.4)),
                float(rng.uniform(4.0, 70.0)),
                0,
                _pick(rng, CLOTHES),
                size=float(rng.uniform(0.88, 1.08)),
                colour2=_pick(rng, CLOTHES),
                variant=int(rng.integers(4)),
            )
        )
    if ground.crosswalk is not None:
        for _ in range(int(rng.integers(0, 4))):
            out.append(
                Obj(
                    "person",
                    float(rng.uniform(x0, x1)),
                    ground.crosswalk[0] + float(rng.uniform(0, 2)),
                    0,
                    _pick(rng, CLOTHES),
                    size=float(rng.uniform(0.88, 1.08)),
                    colour2=_pick(rng, CLOTHES),
                    variant=int(rng.integers(4)),
                )
            )
    for _ in range(int(rng.integers(0, 3)) if rng.random() < 0.4 else 0):  # parked bicycles
        a, b = walks[int(rng.integers(2))]
        out.append(
            Obj(
                "bicycle",
                float(rng.uniform(a + 0.5, b - 0.5)),
                float(rng.uniform(4.0, 40.0)),
                0,
                _pick(rng, CAR_COLOURS),
            )
        )

    # Street lamps on one or both sidewalks, arms reaching over the road.
    for side, xk in ((-1, x0 - 0.5), (1, x1 + 0.5)):
        if rng.random() < 0.7:
            z = float(rng.uniform(4.0, 25.0))
            step = float(rng.uniform(18.0, 35.0))
            while z < far:
                out.append(Obj("street_lamp", xk, z, variant=-side, size=float(rng.uniform(7.0, 9.5))))
                z += step
    for _ in range(int(rng.integers(1, 5))):  # traffic signs
        side = int(rng.integers(2))
        xk = x0 - float(rng.uniform(0.3, 1.0)) if side == 0 else x1 + float(rng.uniform(0.3, 1.0))
        out.append(Obj("traffic_sign", xk, float(rng.uniform(5.0, 60.0)), variant=int(rng.integers(4))))
    if rng.random() < 0.7:  # traffic lights at a junction / the zebra
        zt = ground.crosswalk[0] - 0.5 if ground.crosswalk else float(rng.uniform(12.0, 50.0))
        for xk in (x0 - 0.6, x1 + 0.6):
            out.append(Obj("traffic_light", xk, zt, variant=int(rng.integers(3))))
    for _ in range(int(rng.integers(0, 4))):  # bollards and utility poles
        a, b = walks[int(rng.integers(2))]
        out.append(
            Obj(
                "pole",
                float(rng.uniform(a + 0.3, b - 0.3)),
                float(rng.uniform(4.0, 50.0)),
                size=float(rng.uniform(1.0, 6.0)),
            )
        )
    # Trees along the outer half of the sidewalks.
    for a, b in walks:
        if rng.random() < 0.55:
            z = float(rng.uniform(3.0, 15.0))
            step = float(rng.uniform(7.0, 16.0))
            xt = float(rng.uniform(a + 0.8, b - 0.8)) if b - a > 1.8 else (a + b) / 2
            while z < far:
                out.append(Obj("tree", xt, z, colour=(0.2, 0.35, 0.12), size=float(rng.uniform(0.8, 1.3))))
                z += step
    return out
