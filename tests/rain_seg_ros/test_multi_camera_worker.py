"""ROS-free parts of the multi-camera node: the keyed newest-frame worker and camera naming."""

from __future__ import annotations

import threading

from rain_seg_ros.nodes.cameras import name_from_topic, plan_cameras
from rain_seg_ros.nodes.latest_frame import LatestFramesWorker


def test_worker_batches_the_newest_frame_of_each_waiting_source_and_counts_drops_per_source():
    batches: list[dict] = []
    drops: list[str] = []
    busy, release, done = threading.Event(), threading.Event(), threading.Event()

    def process(batch: dict) -> None:
        batches.append(batch)
        if len(batches) == 1:
            busy.set()
            release.wait(5.0)  # hold the worker while frames pile up behind it
        elif len(batches) == 2:
            done.set()

    worker = LatestFramesWorker(process, on_drop=drops.append, on_error=lambda err: None)
    worker.start()
    try:
        worker.submit("a1", "a")
        assert busy.wait(5.0)
        for item, key in (("a2", "a"), ("b1", "b"), ("a3", "a"), ("a4", "a")):  # "c" stays silent
            worker.submit(item, key)
        release.set()
        assert done.wait(5.0)
    finally:
        worker.stop()
    assert batches == [{"a": "a1"}, {"a": "a4", "b": "b1"}]
    assert drops == ["a", "a"]


def test_camera_names_from_topics():
    assert name_from_topic("/front/image_raw") == "front"
    assert name_from_topic("/cam/left/image_rect_color") == "cam_left"
    assert name_from_topic("camera-2/image/compressed") == "camera_2"
    assert name_from_topic("/3d/image") == "camera_3d"
    assert name_from_topic("/image_raw") == "image_raw"


def test_plan_cameras_explicit_names_duplicates_and_mismatches():
    assert plan_cameras(["/a/image", "/b/image"], ["fl", "fr"]) == (
        [("/a/image", "fl"), ("/b/image", "fr")], [])
    assert plan_cameras(["/front/image", "/front/image_raw"], []) == (
        [("/front/image", "front"), ("/front/image_raw", "front_2")], [])
    planned, problems = plan_cameras(["/x/front/image", "/y/front/image", "/x/front/image"], [])
    assert planned == [("/x/front/image", "x_front"), ("/y/front/image", "y_front")]
    assert len(problems) == 1 and "duplicate" in problems[0]
    planned, problems = plan_cameras(["/front/image", "/rear/image"], ["same", "same"])
    assert planned == [("/front/image", "front"), ("/rear/image", "rear")]
    assert len(problems) == 1 and problems[0].startswith("camera_names")
    planned, problems = plan_cameras(["/c/front/image", "/d/c_front/image"], ["only_one"])
    assert [n for _, n in planned] == ["c_front", "d_c_front"] and len(problems) == 1
