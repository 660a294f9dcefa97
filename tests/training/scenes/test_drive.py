"""The procedural rainy drive: coherent frames, fixed road geometry, determinism, the rosbag2."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from rosbags.highlevel import AnyReader
from rosbags.typesys import Stores, get_typestore

from rain_seg_ros.labels import class_index
from training.commands.make_drive_bag import main as make_drive_bag
from training.scenes.drive import DriveSpec, advance_layout, drive_streams, render_drive
from training.scenes.layout import sample_layout
from training.scenes.render import render_scene
from training.scenes.sample import SceneSpec, generate_sample

SPEC = DriveSpec(height=64, width=128, frames=6, rate_hz=10.0, speed_mps=8.0, rain_intensity=0.8)
ROAD = class_index("road")


@pytest.fixture(scope="module")
def frames():
    return list(render_drive(seed=1, spec=SPEC))


def test_consecutive_frames_overlap_far_more_than_random_scenes(frames):
    drive = np.mean([(a.label == b.label).mean() for a, b in zip(frames, frames[1:])])
    spec = SceneSpec(SPEC.height, SPEC.width)
    randoms = [generate_sample(5, i, spec).label for i in range(len(frames))]
    random = np.mean([(a == b).mean() for a, b in zip(randoms, randoms[1:])])
    assert drive > 0.7
    assert drive > random + 0.2, (drive, random)
    # ... and the camera does move: no two frames are the same picture.
    assert all((a.label != b.label).any() for a, b in zip(frames, frames[1:]))


def test_road_depth_is_the_fixed_ground_plane(frames):
    cam = sample_layout(np.random.default_rng(drive_streams(1)[0]), SPEC.height, SPEC.width).camera
    rows = np.arange(SPEC.height, dtype=np.float64)[:, None] + 0.5
    with np.errstate(divide="ignore"):
        plane = cam.mount_height_m * cam.focal_px / (rows - cam.cy)  # (H, 1): depth of row v
    plane = np.broadcast_to(plane, (SPEC.height, SPEC.width))
    for f in frames:
        road = f.label == ROAD
        assert road.sum() > 0.1 * road.size
        np.testing.assert_allclose(f.depth[road], plane[road], rtol=1e-4)
    # The ego hood (ignore rows, if any) is the same strip in every frame.
    hoods = [f.label == 255 for f in frames]
    assert all((h == hoods[0]).all() for h in hoods)


def test_stamps_distance_and_first_frame_is_the_layout_itself(frames):
    assert [f.stamp_ns - frames[0].stamp_ns for f in frames] == [i * 100_000_000 for i in range(len(frames))]
    assert [f.distance_m for f in frames] == pytest.approx([0.8 * i for i in range(len(frames))])
    layout_ss, texture_ss, _ = drive_streams(1)
    layout = sample_layout(np.random.default_rng(layout_ss), SPEC.height, SPEC.width)
    scene = render_scene(layout, np.random.default_rng(texture_ss))
    np.testing.assert_array_equal(frames[0].label, scene.label)
    np.testing.assert_array_equal(frames[0].clean, scene.image)
    moved = advance_layout(layout, 10.0)
    assert [o.z for o in moved.objects if o.kind == "person"] == pytest.approx(
        [o.z - 10.0 for o in layout.objects if o.kind == "person"])


def test_deterministic_by_seed(frames):
    again = list(render_drive(seed=1, spec=SPEC))
    for a, b in zip(frames, again):
        np.testing.assert_array_equal(a.rain, b.rain)
        np.testing.assert_array_equal(a.label, b.label)
    other = next(render_drive(seed=2, spec=SPEC))
    assert (other.label != frames[0].label).mean() > 0.05
    # Rain differs frame to frame (falling streaks) where the scene does not change.
    assert not np.array_equal(frames[0].rain, frames[0].clean)


def test_bag_holds_rgb_frames_and_mono8_ground_truth_with_matching_stamps(tmp_path: Path, frames):
    bag, labels = tmp_path / "bag", tmp_path / "labels"
    assert make_drive_bag(["--out", str(bag), "--frames", str(SPEC.frames), "--size", "64x128", "--seed", "1",
                           "--rain-intensity", "0.8", "--label-dir", str(labels)]) == 0
    store = get_typestore(Stores.LATEST)
    got: dict[str, dict[int, np.ndarray]] = {"/camera/image_raw": {}, "/camera/gt_mask": {}}
    with AnyReader([bag], default_typestore=store) as reader:
        assert {c.topic: c.msgtype for c in reader.connections} == {
            "/camera/image_raw": "sensor_msgs/msg/Image", "/camera/gt_mask": "sensor_msgs/msg/Image",
            "/ground_truth/condition": "diagnostic_msgs/msg/DiagnosticArray"}
        images = [c for c in reader.connections if c.topic != "/ground_truth/condition"]
        for conn, timestamp, raw in reader.messages(connections=images):
            msg = reader.deserialize(raw, conn.msgtype)
            stamp = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
            assert stamp == timestamp and msg.header.frame_id == "camera"
            channels = 3 if conn.topic == "/camera/image_raw" else 1
            assert msg.encoding == ("rgb8" if channels == 3 else "mono8") and msg.step == 128 * channels
            got[conn.topic][stamp] = np.asarray(msg.data).reshape(64, 128, channels).squeeze()
    by_stamp = {f.stamp_ns: f for f in frames}
    assert set(got["/camera/image_raw"]) == set(got["/camera/gt_mask"]) == set(by_stamp)
    for stamp, f in by_stamp.items():
        np.testing.assert_array_equal(got["/camera/image_raw"][stamp], f.rain)
        np.testing.assert_array_equal(got["/camera/gt_mask"][stamp], f.label)
        np.testing.assert_array_equal(np.asarray(Image.open(labels / f"{stamp}.png")), f.label)
    with pytest.raises(SystemExit):  # an existing bag is not overwritten silently
        make_drive_bag(["--out", str(bag), "--frames", "2"])
