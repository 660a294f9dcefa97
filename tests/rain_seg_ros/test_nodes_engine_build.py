"""The first TensorRT engine build must not block segmentation_node's start-up.

No TensorRT here: a fake Segmenter factory stands in for a slow build (it waits on a gate),
and `engine_build_needed` is checked against the real engine cache with a fake GPU probe.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.parameter import Parameter
from sensor_msgs.msg import Image

import rain_seg_ros.segmenter
from rain_seg_ros.backends import tensorrt_build
from rain_seg_ros.backends.engine_cache import BuildOptions, EngineCache, Environment
from rain_seg_ros.codec import image_to_array
from rain_seg_ros.nodes import segmentation_node
from rain_seg_ros.nodes.model_loading import engine_build_needed
from rain_seg_ros.nodes.segmentation_node import SegmentationNode

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
from .runtime_fixtures import seg_artifact, write_conv_onnx

pytestmark = pytest.mark.ros
BUILD_S = 4.0  # the fake build's length when nobody opens the gate: longer than a start-up may take
GPU = Environment(tensorrt_version="10.9", gpu_name="Fake GPU", compute_capability="8.7")


class SlowBuild:
    """Segmenter factory: waits for `gate` (at most BUILD_S), then opens the real model on ORT."""

    def __init__(self, fail: bool = False) -> None:
        self.gate, self.fail, self.calls = threading.Event(), fail, []
        self.real = rain_seg_ros.segmenter.Segmenter

    def __call__(self, path: str, backend: str, **kwargs: object) -> object:
        self.calls.append(backend)
        self.gate.wait(BUILD_S)
        if self.fail:
            raise RuntimeError("engine build failed: out of workspace")
        return self.real(path, backend="onnxruntime", device="cpu")


def status_of(probe: Probe, name: str, after_s: float):
    """The newest diagnostics status of `name` stamped after `after_s` (ROS time), or None."""
    for msg in reversed(probe.received["/diagnostics"]):
        if msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9 > after_s:
            for status in msg.status:
                if status.name == name:
                    return status
    return None


def start_node(monkeypatch, tmp_path: Path, build: SlowBuild, namespace: str):
    monkeypatch.setattr(segmentation_node, "engine_build_needed", lambda *args, **kwargs: True)
    monkeypatch.setattr(rain_seg_ros.segmenter, "Segmenter", build)
    model = write_band_segmenter(tmp_path / "band.onnx")
    g = InProcessGraph()
    t0 = time.monotonic()
    node = g.add(SegmentationNode(context=g.context, namespace=namespace, parameter_overrides=[
        Parameter("model_path", value=str(model)), Parameter("backend", value="tensorrt")]))
    started_s = time.monotonic() - t0
    probe = g.add(Probe(g.context))
    probe.listen(Image, f"/{namespace}/segmentation_node/mask")
    probe.listen(DiagnosticArray, "/diagnostics", 50)
    pub = probe.create_publisher(Image, f"/{namespace}/image", RELIABLE)
    wait_matched(pub)
    return g, node, probe, pub, started_s


def test_start_up_does_not_wait_for_the_engine_build(monkeypatch, tmp_path):
    build = SlowBuild()
    g, node, probe, pub, started_s = start_node(monkeypatch, tmp_path, build, "trt")
    try:
        assert started_s < 2.0 and not build.gate.is_set()
        assert build.calls == ["tensorrt"]
        name = node.get_fully_qualified_name()
        for sec in (1, 2):
            pub.publish(frame_msg(band_frame(32, 48), "rgb8", sec, "cam"))
        assert probe.wait_for(lambda: node.stats.counts["not_ready"] == 2, 3.0)
        now = node.get_clock().now().nanoseconds * 1e-9
        assert probe.wait_for(lambda: status_of(probe, name, now) is not None, 3.0)
        status = status_of(probe, name, now)
        assert status.level == b"\x01" and status.message.startswith("building engine")
        values = {kv.key: kv.value for kv in status.values}
        assert values["not_ready"] == "2" and values["published"] == "0"
        assert probe.received["/trt/segmentation_node/mask"] == []

        build.gate.set()  # the build ends: frames are served, diagnostics go back to ok
        assert probe.wait_for(lambda: node.segmenter is not None, 5.0)
        rgb = band_frame(32, 48)
        pub.publish(frame_msg(rgb, "rgb8", 3, "cam"))
        mask = image_to_array(by_stamp(probe, "/trt/segmentation_node/mask", 3))
        interior = band_interior(32, 48)
        np.testing.assert_array_equal(mask[interior], reference_mask(rgb)[interior])
        now = node.get_clock().now().nanoseconds * 1e-9
        assert probe.wait_for(lambda: status_of(probe, name, now) is not None, 3.0)
        status = status_of(probe, name, now)
        assert (status.level, status.message, status.hardware_id) == (b"\x00", "ok", "onnxruntime")
    finally:
        g.close()


def test_a_failed_background_build_is_an_error_in_diagnostics(monkeypatch, tmp_path):
    build = SlowBuild(fail=True)
    build.gate.set()
    g, node, probe, pub, _ = start_node(monkeypatch, tmp_path, build, "trtfail")
    try:
        name = node.get_fully_qualified_name()
        assert probe.wait_for(lambda: "model_path" in node.stats.lasting_errors, 5.0)
        pub.publish(frame_msg(band_frame(32, 48), "rgb8", 1, "cam"))
        assert probe.wait_for(lambda: node.stats.counts["not_ready"] == 1, 3.0)
        now = node.get_clock().now().nanoseconds * 1e-9
        assert probe.wait_for(lambda: status_of(probe, name, now) is not None, 3.0)
        status = status_of(probe, name, now)
        assert status.level == b"\x02" and "out of workspace" in status.message
    finally:
        g.close()


def test_engine_build_needed_follows_the_engine_cache(monkeypatch, tmp_path):
    onnx = tmp_path / "seg.onnx"
    write_conv_onnx(onnx, seg_artifact(8, 16, 4))
    cache = tmp_path / "engines"
    assert not engine_build_needed(onnx, "tensorrt", "cuda", cache)  # no TensorRT here: open in front
    monkeypatch.setattr(tensorrt_build, "probe_environment", lambda index=0: GPU)
    assert engine_build_needed(onnx, "tensorrt", "cuda", cache)  # miss
    EngineCache(cache).get_or_build(onnx, BuildOptions(precision="fp16"), GPU, lambda o, opts: b"engine")
    assert not engine_build_needed(onnx, "tensorrt", "cuda:0", cache)  # hit
    other = Environment(tensorrt_version="10.9", gpu_name="Other GPU", compute_capability="9.0")
    monkeypatch.setattr(tensorrt_build, "probe_environment", lambda index=0: other)
    assert engine_build_needed(onnx, "tensorrt", "cuda", cache)  # stale: built for another GPU
    assert not engine_build_needed(onnx, "onnxruntime", "cpu", cache)
