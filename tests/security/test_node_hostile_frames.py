"""Hostile frames sent over real DDS: each is refused and counted, memory stays bounded, and
the nodes answer the valid frame that follows.

weather_node (passthrough, no model) takes raw Images, with a small max_image_pixels to show
the parameter reaches the decoder; weather_node and segmentation_node take CompressedImages.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.parameter import Parameter
from sensor_msgs.msg import CompressedImage, Image

from rain_seg_ros.nodes.segmentation_node import SegmentationNode
from rain_seg_ros.nodes.weather_node import WeatherNode
from tests.rain_seg_ros.ros_fixtures import (
    RELIABLE,
    InProcessGraph,
    Probe,
    band_frame,
    by_stamp,
    frame_msg,
    wait_matched,
    write_band_segmenter,
)

from .image_builders import BIG_APP1, jpeg_declaring, pil_bytes, png_grey

pytestmark = pytest.mark.ros
H, W = 40, 60
GROWTH_LIMIT_MB = 200
RAW_MAX_PIXELS = 10000


def peak_rss_mb() -> float:
    return int(re.search(r"VmHWM:\s+(\d+)", Path("/proc/self/status").read_text()).group(1)) / 1024


def image(height: int, width: int, encoding: str, step: int, data: bytes) -> Image:
    return Image(height=height, width=width, encoding=encoding, step=step, data=data)


HOSTILE_IMAGES = {
    "short_data": image(H, W, "rgb8", W * 3, bytes(W * 3 * H - 1)),
    "long_data": image(H, W, "rgb8", W * 3, bytes(W * 3 * H + 7)),
    "huge_declared": image(100000, 100000, "rgb8", 300000, bytes(64)),
    "over_max_image_pixels": frame_msg(band_frame(200, 200), "rgb8", 1, "big"),
    "step_too_small": image(H, W, "rgb8", W * 3 - 1, bytes((W * 3 - 1) * H)),
    "float_encoding": image(H, W, "32FC1", W * 4, bytes(W * 4 * H)),
}
HOSTILE_COMPRESSED = {
    "jpeg_20000_behind_app1": CompressedImage(format="jpeg", data=jpeg_declaring(20000, 20000, BIG_APP1)),
    "webp_labelled_jpeg": CompressedImage(format="jpeg", data=pil_bytes(band_frame(16, 16), "WEBP")),
    "png_ihdr_60000": CompressedImage(format="png", data=png_grey(60000, 60000, rows=1)),
    "truncated_jpeg": CompressedImage(format="jpeg", data=jpeg_declaring(16, 16, BIG_APP1)[:30000]),
    "garbage": CompressedImage(format="bgr8; jpeg compressed bgr8", data=bytes(range(256)) * 4),
}


@pytest.fixture(scope="module")
def graph(tmp_path_factory: pytest.TempPathFactory):
    model = write_band_segmenter(tmp_path_factory.mktemp("model") / "band.onnx")
    g = InProcessGraph()
    g.raw = g.add(WeatherNode(context=g.context, namespace="hraw", parameter_overrides=[
        Parameter("max_image_pixels", value=RAW_MAX_PIXELS)]))
    g.cmp = g.add(WeatherNode(context=g.context, namespace="hcmp", parameter_overrides=[
        Parameter("compressed_input", value=True)]))
    g.seg = g.add(SegmentationNode(context=g.context, namespace="hcmp", parameter_overrides=[
        Parameter(k, value=v) for k, v in {"model_path": str(model), "backend": "onnxruntime",
                                            "device": "cpu", "compressed_input": True}.items()]))
    g.probe = g.add(Probe(g.context))
    g.probe.listen(Image, "/hraw/weather_node/image")
    g.probe.listen(Image, "/hcmp/weather_node/image")
    g.probe.listen(Image, "/hcmp/segmentation_node/mask")
    g.probe.listen(DiagnosticArray, "/diagnostics", RELIABLE)
    g.raw_pub = g.probe.create_publisher(Image, "/hraw/image", RELIABLE)
    g.cmp_pub = g.probe.create_publisher(CompressedImage, "/hcmp/image/compressed", RELIABLE)
    wait_matched(g.raw_pub)
    wait_matched(g.cmp_pub)
    deadline = time.monotonic() + 10
    while g.cmp_pub.get_subscription_count() < 2:  # both nodes behind the compressed topic
        assert time.monotonic() < deadline
        time.sleep(0.02)
    time.sleep(0.3)
    yield g
    g.close()


def send_hostile(pub, nodes, frames) -> None:
    """One frame at a time, waiting until every node counted it (the newest frame wins otherwise)."""
    for name, msg in frames.items():
        before = [n.stats.counts["bad_frame"] for n in nodes]
        pub.publish(msg)
        deadline = time.monotonic() + 5
        while any(n.stats.counts["bad_frame"] == b for n, b in zip(nodes, before)):
            assert time.monotonic() < deadline, f"{name} was not counted as a bad frame"
            time.sleep(0.01)


def reported_bad_frames(probe: Probe, node, at_least: int) -> bool:
    name = node.get_fully_qualified_name()
    return probe.wait_for(lambda: any(
        s.name == name and int({kv.key: kv.value for kv in s.values}["bad_frame"]) >= at_least
        for m in probe.received["/diagnostics"] for s in m.status), 3.0)


def test_hostile_frames_are_counted_and_the_valid_one_answered(graph):
    Path("/proc/self/clear_refs").write_text("5")  # reset this process's peak RSS
    before_mb = peak_rss_mb()
    send_hostile(graph.raw_pub, [graph.raw], HOSTILE_IMAGES)
    send_hostile(graph.cmp_pub, [graph.cmp, graph.seg], HOSTILE_COMPRESSED)
    growth_mb = peak_rss_mb() - before_mb
    assert growth_mb < GROWTH_LIMIT_MB, f"peak RSS grew {growth_mb:.0f} MB on hostile frames"

    valid = frame_msg(band_frame(H, W), "rgb8", 77, "valid")
    graph.raw_pub.publish(valid)
    assert bytes(by_stamp(graph.probe, "/hraw/weather_node/image", 77).data) == bytes(valid.data)
    fmt, data = "png", pil_bytes(band_frame(H, W), "PNG")
    msg = CompressedImage(format=fmt, data=data)
    msg.header.stamp.sec, msg.header.frame_id = 78, "valid"
    graph.cmp_pub.publish(msg)
    out = by_stamp(graph.probe, "/hcmp/weather_node/image", 78)
    assert np.array_equal(np.frombuffer(bytes(out.data), np.uint8).reshape(H, W, 3), band_frame(H, W))
    assert by_stamp(graph.probe, "/hcmp/segmentation_node/mask", 78).header.frame_id == "valid"

    for node, sent in ((graph.raw, HOSTILE_IMAGES), (graph.cmp, HOSTILE_COMPRESSED),
                       (graph.seg, HOSTILE_COMPRESSED)):
        assert node.stats.counts["bad_frame"] == len(sent)
        assert node.stats.counts["published"] == 1 and node.stats.counts["processing_error"] == 0
        assert reported_bad_frames(graph.probe, node, len(sent))
