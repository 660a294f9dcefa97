"""A drive: one procedural street layout seen from a camera moving forward along the road, in
clear weather, rain or at night (DriveSpec.condition), or through segments of each in turn
(DriveSpec.segments, e.g. (("clear", 20), ("rain", 20), ("night", 20))): every frame knows its
true condition (DriveFrame.condition), and the bag records it on /ground_truth/condition.

The layout is drawn once (layout.py); each frame re-renders it with the world shifted back by
the distance driven, so consecutive frames share geometry, textures of facades and objects,
and labels. Vehicles facing away keep pace with the ego car (traffic flows with it), oncoming
ones close in at twice the speed, everything else stands still. Rain streaks are redrawn per
frame (falling rain) at one fixed intensity. Night frames relight each day frame with the
generator's night renderer (headlights, street lamps, emitters, sensor noise per frame).

Known simplification: the road's texture and dashed lane lines are computed by the renderer in
camera-relative coordinates, so they do not slide past; labels are unaffected (markings are road).

Example:
    from training.scenes.drive import DriveSpec, render_drive, write_drive_bag
    frames = list(render_drive(seed=0, spec=DriveSpec(frames=40)))   # DriveFrame(rain, label, ...)
    write_drive_bag("out/drive_bag", seed=0, spec=DriveSpec())     # rgb8 camera + mono8 GT, MCAP
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from training.scenes.layout import SceneLayout, Strip, sample_layout
from training.scenes.night import render_night
from training.scenes.populate import VEHICLE_LENGTH_M
from training.scenes.rain import render_rain
from training.scenes.render import render_scene

T0_NS = 1_700_000_000_000_000_000  # first frame's stamp (a fixed date, so bags are reproducible)


@dataclass(frozen=True)
class DriveSpec:
    height: int = 128
    width: int = 256
    frames: int = 50
    rate_hz: float = 10.0
    speed_mps: float = 8.0  # ego speed along +Z
    rain_intensity: float = 0.8
    lens_drops: bool = False
    condition: str = "rain"  # what the camera records: "clear", "rain" or "night"
    # (condition, frames) in driving order; when set, it decides each frame's condition and the
    # frame counts must add up to `frames`
    segments: tuple[tuple[str, int], ...] = ()

    def frame_conditions(self) -> list[str]:
        """The true condition of each frame, in order."""
        if not self.segments:
            return [self.condition] * self.frames
        return [condition for condition, n in self.segments for _ in range(n)]


@dataclass
class DriveFrame:
    index: int
    stamp_ns: int
    distance_m: float  # driven since the first frame
    clean: np.ndarray  # (H, W, 3) uint8 RGB
    rain: np.ndarray  # (H, W, 3) uint8 RGB, same geometry
    label: np.ndarray  # (H, W) uint8 train ids, 255 = ignore
    depth: np.ndarray  # (H, W) float32 metres
    night: np.ndarray | None = None  # (H, W, 3) uint8 RGB night twin (night frames only)
    condition: str = "rain"  # what the camera records in this frame

    @property
    def recorded(self) -> np.ndarray:
        """The frame the camera records (its own condition)."""
        return self.camera(self.condition)

    def camera(self, condition: str) -> np.ndarray:
        """The frame the camera records under `condition`."""
        image = {"clear": self.clean, "rain": self.rain, "night": self.night}[condition]
        if image is None:
            raise ValueError(f"frame {self.index} has no {condition!r} image (render with that condition)")
        return image


def _shift_strip(strip: Strip, dz: float) -> Strip:
    if strip.along == "z":  # side plane: its segments run along Z
        return dataclasses.replace(strip, bounds=strip.bounds - np.float32(dz))
    return dataclasses.replace(strip, pos=strip.pos - dz)  # end plane at Z = pos


def advance_layout(layout: SceneLayout, distance_m: float) -> SceneLayout:
    """The layout as seen after driving `distance_m` forward (world shifted by -distance_m in Z)."""
    objects = []
    for obj in layout.objects:
        moving = obj.kind in VEHICLE_LENGTH_M and obj.facing != 0
        # Away-facing traffic keeps its distance; oncoming traffic drives towards us at our speed.
        dz = 0.0 if moving and obj.facing > 0 else (2 * distance_m if moving else distance_m)
        objects.append(dataclasses.replace(obj, z=obj.z - dz))
    ground = layout.ground
    if ground.crosswalk is not None:
        z0, z1 = ground.crosswalk
        ground = dataclasses.replace(ground, crosswalk=(z0 - distance_m, z1 - distance_m))
    strips = [_shift_strip(s, distance_m) for s in layout.strips]
    return dataclasses.replace(layout, strips=strips, objects=objects, ground=ground)


def drive_streams(seed: int) -> tuple[np.random.SeedSequence, np.random.SeedSequence, np.random.SeedSequence]:
    """Independent seed streams for the layout, the textures and the rain of drive `seed`."""
    layout_ss, texture_ss, rain_ss = np.random.SeedSequence([seed, 0xD21E]).spawn(3)
    return layout_ss, texture_ss, rain_ss


def night_stream(seed: int) -> np.random.SeedSequence:
    """The night renderer's stream of drive `seed` (a 4th child: the other three are unchanged)."""
    return np.random.SeedSequence([seed, 0xD21E]).spawn(4)[3]


CONDITIONS = ("clear", "rain", "night")


def render_drive(seed: int, spec: DriveSpec) -> Iterator[DriveFrame]:
    """Yield the frames of drive `seed` in order (a pure function of its arguments)."""
    if spec.frames < 1 or spec.rate_hz <= 0 or spec.height < 16 or spec.width < 16:
        raise ValueError(f"bad drive spec {spec}: need frames >= 1, rate_hz > 0, size >= 16x16")
    conditions = spec.frame_conditions()
    if any(c not in CONDITIONS for c in conditions) or any(n < 1 for _, n in spec.segments):
        raise ValueError(f"drive conditions must be among {CONDITIONS} with >= 1 frame each, got "
                         f"{spec.segments or spec.condition!r}")
    if len(conditions) != spec.frames:
        raise ValueError(f"drive segments {spec.segments} add up to {len(conditions)} frames, "
                         f"not {spec.frames}")
    layout_ss, texture_ss, rain_ss = drive_streams(seed)
    layout = sample_layout(np.random.default_rng(layout_ss), spec.height, spec.width)
    rain_streams = rain_ss.spawn(spec.frames)
    night_streams = night_stream(seed).spawn(spec.frames)
    period_ns = round(1e9 / spec.rate_hz)
    for i in range(spec.frames):
        distance = spec.speed_mps * i / spec.rate_hz
        # Same texture stream every frame: the tiles (and so facade/object texture) stay put.
        scene = render_scene(advance_layout(layout, distance), np.random.default_rng(texture_ss))
        rain = render_rain(scene.image, scene.depth, spec.rain_intensity,
                           np.random.default_rng(rain_streams[i]), lens_drops=spec.lens_drops,
                           ground_mask=scene.ground, focal_px=layout.camera.focal_px)
        night = None
        if conditions[i] == "night":
            cam = layout.camera
            night = render_night(scene.image, scene.depth, np.random.default_rng(night_streams[i]),
                                 emissive=scene.emissive, lights=scene.lights, focal_px=cam.focal_px,
                                 principal_point=(cam.cx, cam.cy))
        yield DriveFrame(i, T0_NS + i * period_ns, distance, scene.image, rain, scene.label, scene.depth,
                         night, conditions[i])


def write_drive_bag(
    path: str | Path,
    seed: int,
    spec: DriveSpec,
    *,
    image_topic: str = "/camera/image_raw",
    gt_topic: str = "/camera/gt_mask",
    condition_topic: str = "/ground_truth/condition",
    frame_id: str = "camera",
    label_dir: str | Path | None = None,
    image_dir: str | Path | None = None,
    progress: bool = False,
) -> Path:
    """Render the drive into a rosbag2 (MCAP): rgb8 camera frames (each in its condition) on
    `image_topic`, mono8 train-id masks on `gt_topic` and the true condition on `condition_topic`
    (diagnostic_msgs/DiagnosticArray, replay/bag_io.condition_message), all stamped alike and
    recorded at their stamps. Optionally also the labels as `<stamp_ns>.png` in `label_dir`
    (replay_eval --gt-dir) and the camera frames as `<stamp_ns>.png` in `image_dir`."""
    # Imported here: the ROS-side codec is not needed to render frames.
    from tqdm import tqdm

    from rain_seg_ros.codec import array_to_image_fields, rgb_to_image_fields
    from rain_seg_ros.replay.bag_io import condition_message, image_message, write_bag

    dirs = [Path(d) for d in (label_dir, image_dir) if d is not None]
    for d in dirs:
        d.mkdir(parents=True, exist_ok=True)
    frames = tqdm(render_drive(seed, spec), total=spec.frames, desc="drive", unit="frame",
                  disable=not progress)
    images, masks, conditions = [], [], []
    for f in frames:
        camera = f.recorded
        rgb8, mono8 = rgb_to_image_fields(camera, "rgb8"), array_to_image_fields(f.label, "mono8")
        images.append((f.stamp_ns, image_message(f.stamp_ns, frame_id, rgb8)))
        masks.append((f.stamp_ns, image_message(f.stamp_ns, frame_id, mono8)))
        intensity = spec.rain_intensity if f.condition == "rain" else 0.0
        conditions.append((f.stamp_ns, condition_message(f.stamp_ns, frame_id, f.condition,
                                                         {"rain_intensity": f"{intensity:.3f}"})))
        if label_dir is not None:
            Image.fromarray(f.label).save(Path(label_dir) / f"{f.stamp_ns}.png")
        if image_dir is not None:
            Image.fromarray(camera).save(Path(image_dir) / f"{f.stamp_ns}.png")
    topics = {image_topic: images, gt_topic: masks, condition_topic: conditions}
    return write_bag(path, topics, storage="mcap")
