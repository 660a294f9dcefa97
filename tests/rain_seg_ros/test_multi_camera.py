"""segmentation_node serving three cameras over real DDS (loopback, own domain).

Each camera's outputs must carry its own header and the mask a separate Segmenter gives for
that image alone (independent path); frames waiting together go through ONE segment_batch
call; a stalled camera holds nobody back; drops are counted per camera.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.parameter import Parameter
from sensor_msgs.msg import Image

from rain_seg_ros.codec import image_to_array
from rain_seg_ros.nodes.segmentation_node import SegmentationNode
from rain_seg_ros.segmenter import Segmenter

from .ros_fixtures import (
    RELIABLE,
    InProcessGraph,
    Probe,
    band_frame,
    band_interior,
    by_stamp,
    frame_msg,
    reference_mask,
    wait_matched,
    write_band_segmenter,
)

pytestmark = pytest.mark.ros
TOPICS = {"front": "/front/image_raw", "left": "/left/image_raw", "rear": "/rear/image_raw"}
SIZES = {"front": (40, 60), "left": (36, 52), "rear": (30, 44)}
PERIOD_S = 0.5  # max_rate_hz 2: frames arriving within one period wait and go out in one batch


def camera_image(name: str) -> np.ndarray:
    """A different picture per camera: bands (front), flipped bands (left), noise (rear)."""
    h, w = SIZES[name]
    if name == "rear":
        return np.random.default_rng(7).integers(0, 256, (h, w, 3), dtype=np.uint8)
    rgb = band_frame(h, w)
    return rgb[:, ::-1].copy() if name == "left" else rgb


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_band_segmenter(tmp_path_factory.mktemp("model") / "band.onnx")


@pytest.fixture(scope="module")
def graph(model: Path):
    g = InProcessGraph()
    params = {"model_path": str(model), "backend": "onnxruntime", "device": "cpu",
              "max_rate_hz": 1 / PERIOD_S, "qos_reliability": "reliable", "qos_depth": 10,
              "camera_topics": list(TOPICS.values()),
              "degraded_status": False}  # on, it would ask every 5th batch for confidence
    g.node = g.add(SegmentationNode(context=g.context, namespace="mc",
                                    parameter_overrides=[Parameter(k, value=v) for k, v in params.items()]))
    g.batches = []  # (number of images, want_confidence) per segment_batch call
    real = g.node.segmenter.segment_batch

    def spy(images, want_confidence=True):
        g.batches.append((len(images), want_confidence))
        return real(images, want_confidence=want_confidence)

    g.node.segmenter.segment_batch = spy
    g.probe = probe = g.add(Probe(g.context))
    for name in TOPICS:
        probe.listen(Image, f"/mc/segmentation_node/{name}/mask")
    probe.listen(DiagnosticArray, "/diagnostics", 50)
    g.pubs = {name: probe.create_publisher(Image, topic, RELIABLE) for name, topic in TOPICS.items()}
    for pub in g.pubs.values():
        wait_matched(pub)
    time.sleep(0.3)
    yield g
    g.close()


def publish_together(graph, names: list[str], sec: int) -> None:
    """One frame per named camera, all inside one rate-limit period (after a frame that opens it)."""
    graph.pubs["front"].publish(frame_msg(camera_image("front"), "rgb8", sec - 1, "front_opener"))
    by_stamp(graph.probe, "/mc/segmentation_node/front/mask", sec - 1)
    for name in names:
        graph.pubs[name].publish(frame_msg(camera_image(name), "rgb8", sec, f"{name}_optical"))


def test_each_camera_gets_its_own_header_and_mask_from_one_batch(graph, model):
    before = len(graph.batches)
    publish_together(graph, list(TOPICS), 100)
    masks = {name: by_stamp(graph.probe, f"/mc/segmentation_node/{name}/mask", 100) for name in TOPICS}
    assert graph.batches[before:] == [(1, False), (3, False)]  # the opener, then the three cameras at once
    with Segmenter(model, backend="onnxruntime", device="cpu") as alone:
        for name, msg in masks.items():
            assert (msg.header.stamp.sec, msg.header.stamp.nanosec, msg.header.frame_id) == (
                100, 123, f"{name}_optical")
            assert (msg.height, msg.width) == SIZES[name]
            expected = alone.segment(camera_image(name)).mask
            np.testing.assert_array_equal(image_to_array(msg), expected, err_msg=name)
    for name in ("front", "left"):  # and the closed form of the model, away from band edges
        interior = band_interior(*SIZES[name])
        np.testing.assert_array_equal(image_to_array(masks[name])[interior],
                                      reference_mask(camera_image(name))[interior])


def test_a_stalled_camera_never_blocks_the_others(graph):
    rear = graph.node.cameras[2]
    assert rear.name == "rear"
    received_rear = rear.stats.counts["received"]
    for sec in (200, 202, 204):
        publish_together(graph, ["front", "left"], sec)
        for name in ("front", "left"):
            by_stamp(graph.probe, f"/mc/segmentation_node/{name}/mask", sec, timeout_s=3.0)
    assert rear.stats.counts["received"] == received_rear
    assert not any(m.header.stamp.sec >= 200 for m in graph.probe.received["/mc/segmentation_node/rear/mask"])


def test_drops_are_counted_per_camera(graph):
    front, left, rear = graph.node.cameras
    start = {c.name: c.stats.counts["dropped"] for c in (front, left, rear)}
    node_start = graph.node.stats.counts["dropped"]
    graph.pubs["rear"].publish(frame_msg(camera_image("rear"), "rgb8", 299, "opener"))
    by_stamp(graph.probe, "/mc/segmentation_node/rear/mask", 299)
    for sec in range(300, 304):  # inside one period: 300..302 are replaced by 303
        graph.pubs["front"].publish(frame_msg(camera_image("front"), "rgb8", sec, "front_optical"))
        time.sleep(0.02)
    graph.pubs["left"].publish(frame_msg(camera_image("left"), "rgb8", 303, "left_optical"))
    by_stamp(graph.probe, "/mc/segmentation_node/front/mask", 303)
    by_stamp(graph.probe, "/mc/segmentation_node/left/mask", 303)
    dropped = {c.name: c.stats.counts["dropped"] - start[c.name] for c in (front, left, rear)}
    assert dropped == {"front": 3, "left": 0, "rear": 0}
    assert graph.node.stats.counts["dropped"] - node_start == 3
    name = graph.node.get_fully_qualified_name()

    def camera_status(camera: str) -> dict[str, str] | None:
        for msg in reversed(graph.probe.received["/diagnostics"]):
            for status in msg.status:
                if status.name == f"{name}: {camera}":
                    assert status.hardware_id == TOPICS[camera]
                    return {kv.key: kv.value for kv in status.values}
        return None

    total = str(front.stats.counts["dropped"])
    assert graph.probe.wait_for(lambda: (camera_status("front") or {}).get("dropped") == total, 3.0)
    values = camera_status("front")
    assert values is not None and float(values["latency_p95_ms"]) > 0
    assert camera_status("left")["dropped"] == str(left.stats.counts["dropped"])


def test_confidence_is_computed_only_while_someone_subscribes(graph):
    graph.probe.listen(Image, "/mc/segmentation_node/left/confidence")
    wait_matched(graph.node.cameras[1].pubs["confidence"])
    before = len(graph.batches)
    publish_together(graph, ["left"], 400)
    conf = by_stamp(graph.probe, "/mc/segmentation_node/left/confidence", 400)
    assert (conf.header.frame_id, conf.height, conf.width) == ("left_optical", *SIZES["left"])
    assert graph.batches[before:] == [(1, True), (1, True)]
