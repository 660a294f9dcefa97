"""weather_node over real DDS: passthrough keeps every encoding, derain/rainify with a
closed-form DSANet export (ros_fixtures.write_additive_dsanet), live mode validation."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from rclpy.parameter import Parameter
from sensor_msgs.msg import Image

from rain_seg_ros.codec import ENCODINGS, image_to_array
from rain_seg_ros.nodes.weather_node import WeatherNode
from rain_seg_ros.replay.replay_eval import stop_graph

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
    write_additive_dsanet,
    write_band_segmenter,
)

pytestmark = pytest.mark.ros
H, W = 40, 60


@pytest.fixture(scope="module")
def graph():
    g = InProcessGraph()
    g.weather = g.add(WeatherNode(context=g.context, namespace="wx"))
    g.probe = g.add(Probe(g.context))
    g.probe.listen(Image, "/wx/weather_node/image")
    g.wx_pub = g.probe.create_publisher(Image, "/wx/image", RELIABLE)
    wait_matched(g.wx_pub)
    time.sleep(0.3)
    yield g
    g.close()


def test_weather_passthrough_keeps_encoding_header_and_pixels(graph):
    rgb = band_frame(H, W)
    for i, encoding in enumerate(sorted(ENCODINGS)):
        sec = 4000 + i
        msg = frame_msg(rgb, encoding, sec, f"wx_{encoding}")
        graph.wx_pub.publish(msg)
        out = by_stamp(graph.probe, "/wx/weather_node/image", sec)
        assert (out.encoding, out.height, out.width) == (encoding, H, W)
        assert out.header.frame_id == f"wx_{encoding}"
        if encoding in ("rgb8", "bgr8", "rgba8", "bgra8", "mono8"):
            assert bytes(out.data) == bytes(msg.data), encoding
        time.sleep(0.05)


def test_weather_mode_change_is_validated(graph):
    node = graph.weather
    before = node.stats.counts["bad_parameter"]
    assert not node.set_parameters([Parameter("mode", value="snow")])[0].successful
    assert not node.set_parameters([Parameter("mode", value="derain")])[0].successful  # no model loaded
    assert node.set_parameters([Parameter("mode", value="passthrough")])[0].successful
    assert node.stats.counts["bad_parameter"] - before == 2


def test_weather_derain_and_rainify_with_a_dsanet_export(tmp_path):
    encoder = write_additive_dsanet(tmp_path)
    g = InProcessGraph()
    try:
        node = g.add(WeatherNode(context=g.context, namespace="dsa", parameter_overrides=[
            Parameter("model_path", value=str(encoder)), Parameter("backend", value="onnxruntime"),
            Parameter("device", value="cpu"), Parameter("mode", value="derain")]))
        probe = g.add(Probe(g.context))
        probe.listen(Image, "/dsa/weather_node/image")
        pub = probe.create_publisher(Image, "/dsa/image", RELIABLE)
        wait_matched(pub)
        rgb = np.zeros((H, W, 3), np.uint8)
        rgb[:, : W // 2], rgb[:, W // 2:] = (40, 120, 200), (250, 10, 90)
        interior = band_interior(H, W)[:, :, None] & (np.abs(np.arange(W) - W // 2) >= 6)[None, :, None]
        interior = np.broadcast_to(interior, rgb.shape)

        def roundtrip(sec: int) -> np.ndarray:
            pub.publish(frame_msg(rgb, "bgr8", sec, "dsa"))
            out = by_stamp(probe, "/dsa/weather_node/image", sec)
            assert (out.encoding, out.height, out.width, out.header.frame_id) == ("bgr8", H, W, "dsa")
            return image_to_array(out)[..., ::-1].astype(int)  # bgr -> rgb

        derained = roundtrip(1)
        assert np.abs(derained - rgb)[interior].max() <= 1
        intensity, style = 0.5, 1
        changes = [Parameter("mode", value="rainify"), Parameter("intensity", value=intensity),
                   Parameter("rain_style", value=style)]
        assert all(r.successful for r in node.set_parameters(changes))
        rained = roundtrip(2)
        expected = np.minimum(rgb / 255 + 0.1 * intensity * (style + 1), 1.0) * 255
        assert np.abs(rained - expected)[interior].max() <= 1
        assert node.set_parameters([Parameter("rain_style", value=7)])[0].successful  # beyond the bank
        before = node.stats.counts["processing_error"]
        pub.publish(frame_msg(rgb, "bgr8", 3, "dsa"))
        deadline = time.monotonic() + 5
        while node.stats.counts["processing_error"] == before:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert node.stats.backend == "onnxruntime"
    finally:
        g.close()


def test_bringup_wires_camera_weather_and_segmenter(tmp_path):
    """rain_seg_bringup (own process) with the params file: camera -> weather_node (derain) -> segmenter."""
    encoder = write_additive_dsanet(tmp_path)
    model = write_band_segmenter(tmp_path / "band.onnx")
    root = Path(__file__).resolve().parents[2]
    log = (tmp_path / "bringup.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "rain_seg_ros.nodes.bringup",
         "--params", str(root / "config" / "perception.yaml"), "--model", str(model),
         "--backend", "onnxruntime", "--weather", "--weather-mode", "derain",
         "--weather-model", str(encoder), "--camera-topic", "/cam/image", "--namespace", "car"],
        env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT)
    g = InProcessGraph()
    try:
        probe = g.add(Probe(g.context))
        probe.listen(Image, "/car/weather_node/image")
        probe.listen(Image, "/car/segmentation_node/mask")
        pub = probe.create_publisher(Image, "/cam/image", RELIABLE)
        wait_matched(pub, timeout_s=60)
        deadline = time.monotonic() + 30
        while probe.counts["/car/segmentation_node/mask"] == 0:  # the segmenter may match later
            assert time.monotonic() < deadline and proc.poll() is None, (tmp_path / "bringup.log").read_text()
            pub.publish(frame_msg(band_frame(H, W), "yuyv", 9, "cam"))
            probe.wait_for(lambda: probe.counts["/car/segmentation_node/mask"] > 0, 1.0)
        derained = by_stamp(probe, "/car/weather_node/image", 9)
        mask = by_stamp(probe, "/car/segmentation_node/mask", 9)
        assert derained.encoding == "yuyv"
        assert (mask.height, mask.width, mask.header.frame_id) == (H, W, "cam")
        interior = band_interior(H, W, margin=6)
        expected = reference_mask(band_frame(H, W))
        np.testing.assert_array_equal(image_to_array(mask)[interior], expected[interior])
    finally:
        g.close()
        stop_graph(proc)
        log.close()


def test_unknown_mode_at_start_runs_passthrough_and_reports_an_error(tmp_path):
    """mode:=rainfy with a model loaded: refused at start-up (not kept and rainified), ERROR in
    the diagnostics until a valid mode is set."""
    encoder = write_additive_dsanet(tmp_path)
    g = InProcessGraph()
    try:
        node = g.add(WeatherNode(context=g.context, namespace="typo", parameter_overrides=[
            Parameter("model_path", value=str(encoder)), Parameter("backend", value="onnxruntime"),
            Parameter("device", value="cpu"), Parameter("mode", value="rainfy")]))
        assert node.get_parameter("mode").value == "passthrough"
        assert node.stats.counts["bad_parameter"] == 1
        assert node.stats.level() == 2 and "rainfy" in node.stats.snapshot()["lasting_errors"]
        probe = g.add(Probe(g.context))
        probe.listen(Image, "/typo/weather_node/image")
        pub = probe.create_publisher(Image, "/typo/image", RELIABLE)
        wait_matched(pub)
        msg = frame_msg(band_frame(H, W), "rgb8", 11, "typo")
        pub.publish(msg)
        assert bytes(by_stamp(probe, "/typo/weather_node/image", 11).data) == bytes(msg.data)
        assert not node.set_parameters([Parameter("mode", value="rainfy")])[0].successful
        assert node.stats.counts["bad_parameter"] == 2 and node.stats.level() == 2
        assert node.set_parameters([Parameter("mode", value="derain")])[0].successful
        assert node.stats.level() == 0 and node.stats.snapshot()["lasting_errors"] == ""
    finally:
        g.close()


def test_any_exception_in_one_frame_is_counted_and_the_next_frame_served(graph, monkeypatch):
    """A non-codec failure while decoding (here RuntimeError) used to end the worker thread."""
    import rain_seg_ros.codec as codec

    real = codec.image_to_array

    def flaky(msg, *args, **kwargs):
        if msg.header.frame_id == "boom":
            raise RuntimeError("decoder exploded")
        return real(msg, *args, **kwargs)

    monkeypatch.setattr(codec, "image_to_array", flaky)
    node = graph.weather
    before = dict(node.stats.counts)
    graph.wx_pub.publish(frame_msg(band_frame(H, W), "rgb8", 4100, "boom"))
    deadline = time.monotonic() + 5
    while node.stats.counts["processing_error"] == before.get("processing_error", 0):
        assert time.monotonic() < deadline, "the failing frame was not counted"
        time.sleep(0.01)
    assert "RuntimeError" in node.stats.snapshot()["last_error"]
    good = frame_msg(band_frame(H, W), "rgb8", 4101, "after_boom")
    graph.wx_pub.publish(good)
    out = by_stamp(graph.probe, "/wx/weather_node/image", 4101, timeout_s=5.0)
    assert bytes(out.data) == bytes(good.data)
    assert node.stats.counts["bad_frame"] == before.get("bad_frame", 0)
