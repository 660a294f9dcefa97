"""Ray-cast the static street: ground (road, markings, sidewalks, terrain), facade strips, sky.

Every surface is a plane the camera rays hit in closed form: the ground (one distance per
row) and vertical strips (one distance per column, and per column a contiguous run of rows
where the strip is tall enough). So the frame is a few broadcast (H, W) passes: nearest hit,
then a per-pixel *material* id whose colour, label and texture strength come from small tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rain_seg_ros.labels import class_index
from training.scenes.layout import MAX_DIST_M, NONE, SIDEWALK, TERRAIN, SceneLayout, Strip

SKY_DEPTH_M = 655.35  # sky and anything beyond range: the largest value a uint16 centimetre PNG holds
ROAD, BUILDING, VEGETATION, FENCE, SKY = (
    class_index(n) for n in ("road", "building", "vegetation", "fence", "sky")
)
# Fixed materials; strip segments follow from FIRST_SEGMENT on.
M_ROAD, M_WALK, M_TERRAIN, M_MARK, M_KERB, M_GLASS, FIRST_SEGMENT = range(7)


@dataclass
class Frame:
    image: np.ndarray  # (H, W, 3) float32 RGB in [0, 1], day light
    label: np.ndarray  # (H, W) uint8 train ids
    depth: np.ndarray  # (H, W) float32 metres (camera-frame z)
    emissive: np.ndarray  # (H, W, 3) float32 light emitted at night (lit windows, lamps, car lights)
    ground: np.ndarray  # (H, W) bool, road and sidewalk (where rain splashes land)


def _bits(v: np.ndarray, scale: float) -> np.ndarray:
    """Position within a period, in sixteenths: (v * scale) mod 16 with integer ops (fast)."""
    return (v * np.float32(scale)).astype(np.int32) & 15


def render_environment(layout: SceneLayout, tiles: dict[str, np.ndarray]) -> Frame:
    cam, g = layout.camera, layout.ground
    hgt, wid, h = cam.height, cam.width, cam.mount_height_m
    d_x, d_z = cam.column_rays()  # (W,)
    r_y = cam.row_rays()  # (H,)
    row = np.arange(hgt, dtype=np.float32)[:, None]
    veg_profile = (tiles["fine"][7] * 0.9 + tiles["coarse"][3] * 1.2).astype(np.float32)

    # 1. Nearest hit: the ground, then each strip over its per-column run of rows.
    with np.errstate(divide="ignore"):
        t_ground = np.where(r_y > 0, h / np.maximum(r_y, 1e-9), np.inf).astype(np.float32)
    t_ground[t_ground > MAX_DIST_M] = np.inf
    depth = np.repeat(t_ground[:, None], wid, axis=1)  # (H, W)
    segment = np.full((hgt, wid), -1, np.int32)  # global segment id, -1 = ground/sky
    seg_tables: list[tuple[int, Strip]] = []  # (global id of the strip's first segment, strip)
    first = 0
    for strip in layout.strips:
        denom, run = (d_x, d_z) if strip.along == "z" else (d_z, d_x)
        with np.errstate(divide="ignore", invalid="ignore"):
            t_col = np.float32(strip.pos) / denom  # (W,)
        t_col = np.where((t_col > 0) & (t_col < MAX_DIST_M), t_col, np.inf).astype(np.float32)
        s_col = np.where(np.isfinite(t_col), t_col * run, 0.0)
        seg = np.clip(np.searchsorted(strip.bounds, s_col, side="right") - 1, 0, len(strip.label) - 1)
        top = strip.top_m[seg] + np.where(
            strip.label[seg] == VEGETATION,
            veg_profile[(np.abs(s_col) * 3).astype(np.int64) % len(veg_profile)],
            0,
        )
        ok = np.isfinite(t_col) & (strip.label[seg] != NONE)
        v_top = np.where(ok, cam.cy + cam.focal_px * (h - top) / t_col, hgt).astype(np.float32)
        v_bot = np.where(ok, cam.cy + cam.focal_px * h / t_col, -1).astype(np.float32)
        hit = (row + 0.5 >= v_top) & (row + 0.5 <= v_bot) & (t_col < depth)
        np.copyto(depth, np.broadcast_to(t_col, depth.shape), where=hit)
        np.copyto(segment, np.broadcast_to((seg + first).astype(np.int32), depth.shape), where=hit)
        seg_tables.append((first, strip))
        first += len(strip.label)
    sky = ~np.isfinite(depth)
    depth[sky] = SKY_DEPTH_M

    # 2. Per-segment tables (colour with the facade's sunlit/shaded side folded in).
    n_mat = FIRST_SEGMENT + first
    colour = np.zeros((n_mat, 3), np.float32)
    label_of = np.zeros(n_mat, np.uint8)
    amp = np.full(n_mat, 0.06, np.float32)
    colour[:FIRST_SEGMENT] = (
        g.colours["road"],
        g.colours["sidewalk"],
        g.colours["terrain"],
        g.colours["marking"],
        g.colours["sidewalk"] * 0.6 + 0.35,
        (0.19, 0.23, 0.28),
    )
    label_of[:FIRST_SEGMENT] = (ROAD, SIDEWALK, TERRAIN, ROAD, SIDEWALK, BUILDING)
    amp[:FIRST_SEGMENT] = (0.08, 0.07, 0.18, 0.04, 0.05, 0.25)
    inv_floor = np.ones(first, np.float32)
    inv_bay = np.ones(first, np.float32)
    seg_top = np.zeros(first, np.float32)
    is_end = np.zeros(first, bool)
    for start, strip in seg_tables:
        lab, col, pos, end = strip.label, strip.colour, strip.pos, strip.along == "x"
        sl = slice(start, start + len(lab))
        side_shade = layout.side_shade[0] if pos < 0 else layout.side_shade[1]
        colour[FIRST_SEGMENT + start : FIRST_SEGMENT + start + len(lab)] = col * (0.85 if end else side_shade)
        label_of[FIRST_SEGMENT + start : FIRST_SEGMENT + start + len(lab)] = np.where(lab == NONE, SKY, lab)
        amp[FIRST_SEGMENT + start : FIRST_SEGMENT + start + len(lab)] = np.where(lab == VEGETATION, 0.3, 0.07)
        inv_floor[sl], inv_bay[sl], seg_top[sl], is_end[sl] = (
            1 / strip.floor_m,
            1 / strip.bay_m,
            strip.top_m,
            end,
        )

    # 3. Materials: ground by world position across (X) / along (Z) the road, strips by segment.
    x = depth * d_x[None, :]  # (H, W) world X of the hit
    z = depth * d_z[None, :]  # (H, W) world Z of the hit
    y = h - depth * r_y[:, None]  # (H, W) height above the ground
    on_ground = (segment < 0) & ~sky
    x0, x1 = g.road
    left_verge, right_verge = x < g.walk_left, x > g.walk_right
    mat = np.where((x >= x0) & (x <= x1), M_ROAD, M_WALK).astype(np.int32)
    mat[left_verge] = M_TERRAIN if g.verge_left_label == TERRAIN else M_WALK
    mat[right_verge] = M_TERRAIN if g.verge_right_label == TERRAIN else M_WALK
    road = mat == M_ROAD
    marking = road & ((np.abs(x - x0 - 0.25) < 0.07) | (np.abs(x - x1 + 0.25) < 0.07))
    for xl in g.lane_lines:
        marking |= (np.abs(x - xl) < 0.07) & (_bits(z, 16 / 9.0) < 5)
    if g.centre_line is not None:
        marking |= np.abs(np.abs(x - g.centre_line) - 0.12) < 0.06
    if g.crosswalk is not None:
        marking |= road & (z >= g.crosswalk[0]) & (z <= g.crosswalk[1]) & (_bits(x, 16.0) < 8)
    mat[marking] = M_MARK
    mat[(mat == M_WALK) & ((np.abs(x - x0) < 0.18) | (np.abs(x - x1) < 0.18))] = M_KERB
    along = np.where(is_end[np.maximum(segment, 0)], x, z)  # running coordinate on a strip
    glass = np.zeros((hgt, wid), bool)
    seg0 = np.maximum(segment, 0)
    fy, fs = y * inv_floor[seg0], along * inv_bay[seg0]
    bits_y, bits_s = _bits(fy, 16.0), _bits(np.abs(fs), 16.0)
    bld = (segment >= 0) & (label_of[FIRST_SEGMENT + seg0] == BUILDING)
    glass = (
        bld
        & (y > 3.2)
        & (y < seg_top[seg0] - 0.8)
        & (bits_y > 4)
        & (bits_y < 13)
        & (bits_s > 3)
        & (bits_s < 12)
    )
    glass |= bld & (y > 0.4) & (y < 2.6) & (bits_s > 1) & (bits_s < 15) & (seg0 % 3 != 0)  # shop fronts
    mat = np.where(segment >= 0, FIRST_SEGMENT + segment, mat)
    mat[glass] = M_GLASS
    mat[sky] = 0

    # 4. Colour = material colour x (1 + strength x texture); texture coords follow the surface.
    tex_u = np.where(on_ground, x, along)
    tex_v = np.where(on_ground, z, y)
    flat = tiles["fine"].ravel()

    def texture(scale: float) -> np.ndarray:  # nearest texel of the periodic tile, in surface coords
        return flat.take(
            (((tex_v * scale).astype(np.int32) & 255) << 8) | ((tex_u * scale).astype(np.int32) & 255)
        )

    # Two octaves: a coarse one for blotches, a fine one that hides the coarse texels up close.
    tex = 0.65 * texture(6.0) + 0.35 * texture(23.0)
    shade = (1 + amp.take(mat) * tex) * np.float32(layout.sun)
    shade[(mat == M_WALK) & ((_bits(x, 16 / 0.6) == 0) | (_bits(z, 16 / 0.6) == 0))] *= 0.8  # paving joints
    fence = (segment >= 0) & (label_of.take(mat) == FENCE)
    shade[fence & ((_bits(along, 4.0) < 4) | (_bits(y, 16 / 0.9) < 2))] *= 1.6  # fence lattice
    image = colour.take(mat, axis=0) * shade[..., None]
    label = label_of.take(mat)

    # 5. Sky: vertical gradient plus clouds in screen space, only on the rows that show sky.
    sky_rows = int(np.nonzero(sky.any(axis=1))[0].max()) + 1 if sky.any() else 0
    if sky_rows:
        k = (
            np.clip((cam.cy - np.arange(sky_rows, dtype=np.float32)) / max(cam.cy, 1.0), 0, 1)[:, None, None]
            ** 0.6
        )
        grad = layout.sky.horizon * (1 - k) + layout.sky.zenith * k  # (rows, 1, 3)
        ri = (np.arange(sky_rows) * 384 // wid) & 255
        ci = (np.arange(wid) * 256 // wid) & 255
        cloud = np.clip(0.5 + 0.35 * tiles["coarse"][np.ix_(ri, ci)], 0, 1)[..., None] * layout.sky.cloudiness
        np.copyto(image[:sky_rows], grad + (0.92 - grad) * cloud, where=sky[:sky_rows, :, None])
        label[:sky_rows][sky[:sky_rows]] = SKY

    # 6. Night emitters: a hashed third of the windows is lit.
    emissive = np.zeros((hgt, wid, 3), np.float32)
    key = (segment * 7919 + fy.astype(np.int32) * 131 + np.floor(fs).astype(np.int32)).astype(np.uint32)
    key = (key * np.uint32(2654435761)) >> np.uint32(16)
    lit = glass & (y > 3.0) & ((key & 7) < 2)
    emissive[lit] = np.array([1.0, 0.78, 0.45], np.float32) * (0.6 + 0.05 * (key[lit, None] >> 3 & 7))
    ground = on_ground & ((mat == M_ROAD) | (mat == M_MARK) | (mat == M_WALK) | (mat == M_KERB))
    return Frame(image, label, depth, emissive, ground)
