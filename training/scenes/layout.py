"""Random scene layouts: camera, road cross-section, facade strips and the objects on the street.

A layout is pure data drawn from one `np.random.Generator`; rendering it (environment.py,
objects.py) consumes no randomness except the texture tiles, so the clean, rainy and night
twins of a sample share every pixel of geometry and every label.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rain_seg_ros.labels import IGNORE_INDEX, class_index
from training.scenes.camera import Camera
from training.scenes.populate import CAR_COLOURS, Obj, populate

ROAD, SIDEWALK, BUILDING, WALL, FENCE = (
    class_index(n) for n in ("road", "sidewalk", "building", "wall", "fence")
)
VEGETATION, TERRAIN = class_index("vegetation"), class_index("terrain")
MAX_DIST_M = 300.0  # nothing is placed or rendered beyond this distance
NONE = IGNORE_INDEX  # strip segment that draws nothing (see-through gap)


@dataclass
class Strip:
    """A vertical plane cut into segments: side planes run along Z at X=`pos`; the end plane
    runs along X at Z=`pos`. Segment i covers [bounds[i], bounds[i+1]) of the running axis."""

    along: str  # "z" (side plane, X = pos) or "x" (end plane, Z = pos)
    pos: float
    bounds: np.ndarray  # (S+1,) ascending
    label: np.ndarray  # (S,) train id, or NONE for a gap
    top_m: np.ndarray  # (S,) height of the segment's top edge
    colour: np.ndarray  # (S, 3) float32 RGB in [0, 1]
    floor_m: np.ndarray  # (S,) storey height for building windows
    bay_m: np.ndarray  # (S,) window bay width


@dataclass
class Ground:
    road: tuple[float, float]  # X extent of the carriageway
    walk_left: float  # X of the left sidewalk's outer edge
    walk_right: float
    verge_left_label: int  # what lies beyond each sidewalk: TERRAIN or SIDEWALK
    verge_right_label: int
    lane_lines: tuple[float, ...]  # X of dashed lane markings
    centre_line: float | None  # X of the solid line between directions
    crosswalk: tuple[float, float] | None  # Z extent of a zebra crossing
    colours: dict[str, np.ndarray]


@dataclass
class Sky:
    zenith: np.ndarray
    horizon: np.ndarray
    cloudiness: float


@dataclass
class SceneLayout:
    camera: Camera
    ground: Ground
    strips: list[Strip]
    objects: list[Obj]
    sky: Sky
    sun: float  # global brightness
    side_shade: tuple[float, float]  # brightness of left / right facades (sun direction)
    hood_rows: int  # ego-vehicle strip at the bottom (label 255), 0 = none
    hood_colour: np.ndarray


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def _colour(rng: np.random.Generator, base: tuple[float, float, float], jitter: float) -> np.ndarray:
    return np.clip(np.asarray(base) + rng.uniform(-jitter, jitter, 3), 0.0, 1.0).astype(np.float32)


FACADE_COLOURS = (
    (0.75, 0.70, 0.62),
    (0.62, 0.36, 0.28),
    (0.55, 0.55, 0.56),
    (0.85, 0.83, 0.78),
    (0.80, 0.72, 0.55),
    (0.45, 0.45, 0.50),
    (0.70, 0.60, 0.55),
    (0.60, 0.66, 0.72),
)


def _strip(
    rng: np.random.Generator,
    along: str,
    pos: float,
    *,
    span: tuple[float, float],
    probs: dict[int, float],
    height: dict[int, tuple[float, float]],
    seg_len: tuple[float, float],
) -> Strip:
    bounds = [span[0]]
    while bounds[-1] < span[1]:
        bounds.append(bounds[-1] + _u(rng, *seg_len))
    n = len(bounds) - 1
    kinds = list(probs)
    label = rng.choice(np.asarray(kinds), size=n, p=np.asarray(list(probs.values())) / sum(probs.values()))
    top = np.array([_u(rng, *height.get(int(k), (0.0, 0.0))) for k in label], dtype=np.float32)
    colour = np.empty((n, 3), np.float32)
    for i, k in enumerate(label):
        if k == BUILDING:
            colour[i] = _colour(rng, FACADE_COLOURS[rng.integers(len(FACADE_COLOURS))], 0.08)
        elif k == VEGETATION:
            colour[i] = _colour(rng, (0.22, 0.36, 0.12), 0.06)
        elif k == WALL:
            colour[i] = _colour(rng, (0.62, 0.6, 0.56), 0.1)
        else:
            colour[i] = _colour(rng, (0.35, 0.33, 0.3), 0.08)
    return Strip(
        along,
        pos,
        np.asarray(bounds, np.float32),
        label.astype(np.int64),
        top,
        colour,
        rng.uniform(2.9, 3.8, n).astype(np.float32),
        rng.uniform(2.0, 4.0, n).astype(np.float32),
    )


def sample_layout(rng: np.random.Generator, height: int, width: int) -> SceneLayout:
    """Draw one street scene for an image of `height` x `width` pixels."""
    camera = Camera(
        height,
        width,
        focal_px=width * _u(rng, 0.8, 1.1),
        cx=width * _u(rng, 0.46, 0.54),
        cy=height * _u(rng, 0.38, 0.5),
        mount_height_m=_u(rng, 1.2, 2.0),
        yaw_rad=math.radians(_u(rng, -3.0, 3.0)),
    )
    # Road cross-section; the camera drives in the middle of lane `ego` at X = 0.
    n_lanes = int(rng.choice([2, 2, 3, 4]))
    lane_w = _u(rng, 3.0, 3.6)
    two_way = n_lanes >= 2 and rng.random() < 0.7
    n_away = max(1, n_lanes // 2) if two_way else n_lanes
    ego = n_lanes - 1 - int(rng.integers(0, n_away))
    road = (-(ego + 0.5) * lane_w, (n_lanes - ego - 0.5) * lane_w)
    walk_l, walk_r = road[0] - _u(rng, 1.8, 5.0), road[1] + _u(rng, 1.8, 5.0)
    verge_l, verge_r = (_u(rng, 0.0, 4.0) if rng.random() < 0.6 else 0.0 for _ in range(2))
    lines = tuple(road[0] + i * lane_w for i in range(1, n_lanes) if not (two_way and i == n_lanes - n_away))
    ground = Ground(
        road=road,
        walk_left=walk_l,
        walk_right=walk_r,
        verge_left_label=TERRAIN if rng.random() < 0.7 else SIDEWALK,
        verge_right_label=TERRAIN if rng.random() < 0.7 else SIDEWALK,
        lane_lines=lines,
        centre_line=road[0] + (n_lanes - n_away) * lane_w if two_way else None,
        crosswalk=(z0 := _u(rng, 12.0, 45.0), z0 + _u(rng, 3.0, 5.0)) if rng.random() < 0.35 else None,
        colours={
            "road": _colour(rng, (0.33, 0.33, 0.35), 0.06),
            "sidewalk": _colour(rng, (0.6, 0.57, 0.55), 0.1),
            "terrain": _colour(rng, (0.42, 0.45, 0.22), 0.07),
            "marking": _colour(rng, (0.9, 0.9, 0.88), 0.05),
        },
    )

    strips: list[Strip] = []
    for side, edge in ((-1, walk_l - verge_l), (1, walk_r + verge_r)):
        if rng.random() < 0.45:  # low wall or fence along the sidewalk's outer edge
            strips.append(
                _strip(
                    rng,
                    "z",
                    edge - side * 0.05,
                    span=(0.0, MAX_DIST_M),
                    probs={WALL: 1.0, FENCE: 1.2, NONE: 1.0},
                    height={WALL: (0.6, 1.6), FENCE: (1.0, 2.0)},
                    seg_len=(6.0, 25.0),
                )
            )
        strips.append(
            _strip(
                rng,
                "z",
                edge,
                span=(0.0, MAX_DIST_M),
                probs={BUILDING: 0.75, VEGETATION: 0.13, NONE: 0.12},
                height={BUILDING: (6.0, 26.0), VEGETATION: (3.0, 8.0)},
                seg_len=(8.0, 32.0),
            )
        )
        strips.append(
            _strip(
                rng,
                "z",
                edge + side * _u(rng, 10.0, 30.0),
                span=(0.0, MAX_DIST_M),
                probs={BUILDING: 0.6, VEGETATION: 0.4},
                height={BUILDING: (8.0, 36.0), VEGETATION: (6.0, 14.0)},
                seg_len=(10.0, 40.0),
            )
        )
    if rng.random() < 0.6:  # buildings across the far end of the street
        strips.append(
            _strip(
                rng,
                "x",
                _u(rng, 70.0, 220.0),
                span=(-MAX_DIST_M, MAX_DIST_M),
                probs={BUILDING: 0.7, VEGETATION: 0.3},
                height={BUILDING: (8.0, 30.0), VEGETATION: (5.0, 12.0)},
                seg_len=(10.0, 40.0),
            )
        )
    end_z = min([s.pos for s in strips if s.along == "x"], default=MAX_DIST_M)

    objects = populate(
        rng, ground, lane_w=lane_w, n_lanes=n_lanes, n_away=n_away, two_way=two_way, end_z=end_z
    )
    overcast = rng.random()
    sky = Sky(
        zenith=_colour(rng, tuple(np.array([0.3, 0.5, 0.85]) * (1 - overcast) + 0.68 * overcast), 0.05),
        horizon=_colour(rng, tuple(np.array([0.75, 0.82, 0.92]) * (1 - overcast) + 0.8 * overcast), 0.04),
        cloudiness=overcast,
    )
    sun = _u(rng, 0.75, 1.15)
    shade = (_u(rng, 0.6, 1.0), _u(rng, 0.6, 1.0))
    hood = int(height * _u(rng, 0.04, 0.1)) if rng.random() < 0.5 else 0
    return SceneLayout(
        camera,
        ground,
        strips,
        objects,
        sky,
        sun,
        shade,
        hood,
        _colour(rng, CAR_COLOURS[rng.integers(len(CAR_COLOURS))], 0.05),
    )
