"""Ray-cast the static street: ground (road, markings, sidewalks, terrain), facade strips, sky.

Every surface here is a plane the camera rays hit in closed form: the ground (one hit distance
per image row) and vertical strips (one per column), so the whole frame is a handful of
broadcast (H, W) operations and an argmin over the candidate hit distances.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rain_seg_ros.labels import class_index
from training.scenes.layout import MAX_DIST_M, NONE, SIDEWALK, SceneLayout, Strip
from training.scenes.textures import hash01, sample_tile

SKY_DEPTH_M = 655.35   # sky and anything beyond range: the largest value a uint16 centimetre PNG holds
ROAD, BUILDING, VEGETATION, FENCE, SKY = (class_index(n) for n in ("road", "building", "vegetation",
                                                                      "fence", "sky"))


@dataclass
class Frame:
    image: np.ndarray      # (H, W, 3) float32 linear-ish RGB in [0, 1], day light
    label: np.ndarray      # (H, W) uint8 train ids
    depth: np.ndarray      # (H, W) float32 metres (camera-frame z)
    emissive: np.ndarray   # (H, W, 3) float32 light emitted at night (lit windows, lamps, car lights)
    ground: np.ndarray     # (H, W) bool, road and sidewalk (where rain splashes land)


def _strip_hits(strip: Strip, h: float, d_x: np.ndarray, d_z: np.ndarray, r_y: np.ndarray,
                veg_profile: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Hit distance (H, W) of one strip (inf where missed), plus per-column distance, position
    along the strip and segment index, all (W,)."""
    denom, run = (d_x, d_z) if strip.along == "z" else (d_z, d_x)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_col = np.float32(strip.pos) / denom
    t_col = np.where((t_col > 0) & (t_col < MAX_DIST_M), t_col, np.inf).astype(np.float32)
    s_col = np.where(np.isfinite(t_col), t_col * run, 0.0).astype(np.float32)
    seg = np.clip(np.searchsorted(strip.bounds, s_col, side="right") - 1, 0, len(strip.label) - 1)
    label = strip.label[seg]
    top = strip.top_m[seg]
    top = np.where(label == VEGETATION, top + veg_profile[(np.abs(s_col) * 3).astype(np.int64) % len(veg_profile)],
                   top)
    ok = np.isfinite(t_col) & (label != NONE)
    y = h - t_col[None, :] * r_y[:, None]                       # (H, W) height of the hit above ground
    hit = ok[None, :] & (y >= 0) & (y <= top[None, :])
    return np.where(hit, t_col[None, :], np.float32(np.inf)), t_col, s_col, seg


def render_environment(layout: SceneLayout, tiles: dict[str, np.ndarray]) -> Frame:
    cam, g = layout.camera, layout.ground
    hgt, wid, h = cam.height, cam.width, cam.mount_height_m
    d_x, d_z = cam.column_rays()                                  # (W,)
    r_y = cam.row_rays()                                          # (H,)
    veg_profile = (tiles["fine"][7] * 0.9 + tiles["coarse"][3] * 1.2).astype(np.float32)

    with np.errstate(divide="ignore"):
        t_ground = np.where(r_y > 0, h / np.maximum(r_y, 1e-9), np.inf).astype(np.float32)
    t_ground[t_ground > MAX_DIST_M] = np.inf
    cands = [np.broadcast_to(t_ground[:, None], (hgt, wid))]
    per_strip = []
    for strip in layout.strips:
        t, t_col, s_col, seg = _strip_hits(strip, h, d_x, d_z, r_y, veg_profile)
        cands.append(t)
        per_strip.append((t_col, s_col, seg))
    stack = np.stack(cands)                                       # (C, H, W)
    choice = np.argmin(stack, axis=0)
    depth = np.take_along_axis(stack, choice[None], 0)[0]
    sky = ~np.isfinite(depth)
    depth = np.where(sky, SKY_DEPTH_M, depth).astype(np.float32)

    image = np.empty((hgt, wid, 3), np.float32)
    label = np.full((hgt, wid), SKY, np.uint8)
    emissive = np.zeros((hgt, wid, 3), np.float32)
    fine, coarse = tiles["fine"], tiles["coarse"]

    # Sky: vertical gradient plus clouds in screen space.
    rows, cols = np.nonzero(sky)
    k = np.clip((cam.cy - rows) / max(cam.cy, 1.0), 0.0, 1.0)[:, None] ** 0.6
    col = layout.sky.horizon * (1 - k) + layout.sky.zenith * k
    cloud = np.clip(0.5 + 0.35 * sample_tile(coarse, rows * 256 / wid * 1.5, cols * 256 / wid), 0, 1)[:, None]
    image[rows, cols] = col + (0.92 - col) * cloud * layout.sky.cloudiness

    # Ground: classify every hit by its world position across (X) and along (Z) the road.
    rows, cols = np.nonzero((choice == 0) & ~sky)
    t = t_ground[rows]
    x, z = t * d_x[cols], t * d_z[cols]
    x0, x1 = g.road
    on_road = (x >= x0) & (x <= x1)
    left = x < x0
    verge = np.where(left, x < g.walk_left, x > g.walk_right) & ~on_road
    lab = np.where(on_road, ROAD, np.where(verge, np.where(left, g.verge_left_label, g.verge_right_label),
                                           SIDEWALK)).astype(np.uint8)
    tex = sample_tile(fine, z * 6.0, x * 6.0) * 0.5 + sample_tile(coarse, z * 0.8, x * 0.8) * 0.5
    base = np.where((lab == ROAD)[:, None], g.colours["road"],
                    np.where((lab == SIDEWALK)[:, None], g.colours["sidewalk"], g.colours["terrain"]))
    amp = np.where(lab == ROAD, 0.07, np.where(lab == SIDEWALK, 0.06, 0.16))[:, None]
    c = base * (1 + amp * tex[:, None])
    paving = (lab == SIDEWALK) & ((np.mod(x, 0.6) < 0.04) | (np.mod(z, 0.6) < 0.04))
    c[paving] *= 0.8
    kerb = (lab == SIDEWALK) & ((np.abs(x - x0) < 0.18) | (np.abs(x - x1) < 0.18))
    c[kerb] = c[kerb] * 0.6 + 0.35
    marking = on_road & ((np.abs(x - x0 - 0.25) < 0.07) | (np.abs(x - x1 + 0.25) < 0.07))
    for xl in g.lane_lines:
        marking |= (np.abs(x - xl) < 0.07) & (np.mod(z, 9.0) < 3.0)
    if g.centre_line is not None:
        marking |= np.abs(np.abs(x - g.centre_line) - 0.12) < 0.06
    if g.crosswalk is not None:
        marking |= on_road & (z >= g.crosswalk[0]) & (z <= g.crosswalk[1]) & (np.mod(x, 1.0) < 0.5)
    c[marking] = g.colours["marking"] * (0.9 + 0.04 * tex[marking, None])
    image[rows, cols] = c
    label[rows, cols] = lab
    ground = np.zeros((hgt, wid), bool)
    ground[rows, cols] = (lab == ROAD) | (lab == SIDEWALK)

    # Facade strips: buildings with windows, vegetation, walls and fences.
    for i, (strip, (t_col, s_col, seg)) in enumerate(zip(layout.strips, per_strip)):
        rows, cols = np.nonzero(choice == i + 1)
        if rows.size == 0:
            continue
        t, s, sg = t_col[cols], s_col[cols], seg[cols]
        y = h - t * r_y[rows]
        lab = strip.label[sg].astype(np.uint8)
        shade = layout.side_shade[0] if strip.pos < 0 else layout.side_shade[1]
        if strip.along == "x":
            shade = 0.5 * (layout.side_shade[0] + layout.side_shade[1]) * 0.9
        tex = sample_tile(fine, y * 5.0, s * 5.0)
        c = strip.colour[sg] * (shade * (1 + 0.06 * tex))[:, None]
        veg = lab == VEGETATION
        c[veg] *= (0.75 + 0.25 * sample_tile(fine, y[veg] * 14, s[veg] * 14))[:, None]
        fence = lab == FENCE
        c[fence & ((np.mod(s, 0.25) < 0.05) | (np.mod(y, 0.9) < 0.08))] *= 1.6
        bld = lab == BUILDING
        fy, fs = y / strip.floor_m[sg], s / strip.bay_m[sg]
        win = bld & (y > 3.2) & (y < strip.top_m[sg] - 0.8) & (np.mod(fy, 1) > 0.3) & (np.mod(fy, 1) < 0.8) \
            & (np.mod(fs, 1) > 0.25) & (np.mod(fs, 1) < 0.75)
        shop = bld & (y > 0.4) & (y < 2.6) & (np.mod(fs, 1) > 0.1) & (np.mod(fs, 1) < 0.9) & (sg % 3 != 0)
        glass = win | shop
        c[glass] = np.array([0.16, 0.19, 0.23], np.float32) * (1.2 + 0.5 * tex[glass, None]) * shade
        lit = glass & (hash01(sg, np.floor(fy), np.floor(fs), i) < 0.35)
        warm = np.array([1.0, 0.78, 0.45], np.float32) * (0.6 + 0.4 * hash01(np.floor(fy), np.floor(fs), i + 99))[
            lit, None] if lit.any() else np.zeros((0, 3), np.float32)
        emissive[rows[lit], cols[lit]] = warm
        image[rows, cols] = c
        label[rows, cols] = lab
    image *= np.float32(layout.sun)
    return Frame(image, label, depth, emissive, ground)
