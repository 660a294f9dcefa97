"""weather_node night2day / day2night over real DDS with closed-form CycleGAN stand-ins
(translate_fixtures): pixels follow the formula, encoding and header are kept, modes without
their model are refused at start and live."""

from __future__ import annotations

import numpy as np
import pytest
from rclpy.parameter import Parameter
from sensor_msgs.msg import Image

from rain_seg_ros.codec import image_to_array
from rain_seg_ros.nodes.common import ModelLoadError
from rain_seg_ros.nodes.weather_node import WeatherNode

from .ros_fixtures import RELIABLE, InProcessGraph, Probe, by_stamp, frame_msg, wait_matched
from .translate_fixtures import expected, write_affine_translator

pytestmark = pytest.mark.ros
H, W = 24, 32


def _params(**kw: str) -> list[Parameter]:
    base = {"backend": "onnxruntime", "device": "cpu"} | kw
    return [Parameter(k, value=v) for k, v in base.items()]


def test_night2day_and_day2night_keep_encoding_and_header(tmp_path):
    n2d = write_affine_translator(tmp_path / "n2d.onnx", "night2day", scale=3.0)
    d2n = write_affine_translator(tmp_path / "d2n.onnx", "day2night", scale=0.25, offset=0.02)
    g = InProcessGraph()
    try:
        node = g.add(WeatherNode(context=g.context, namespace="nt", parameter_overrides=_params(
            mode="night2day", night2day_model_path=str(n2d), day2night_model_path=str(d2n))))
        probe = g.add(Probe(g.context))
        probe.listen(Image, "/nt/weather_node/image")
        pub = probe.create_publisher(Image, "/nt/image", RELIABLE)
        wait_matched(pub)
        rgb = np.random.default_rng(0).integers(0, 256, (H, W, 3), dtype=np.uint8)

        def roundtrip(sec: int, encoding: str) -> np.ndarray:
            pub.publish(frame_msg(rgb, encoding, sec, "cam_night"))
            out = by_stamp(probe, "/nt/weather_node/image", sec)
            assert (out.encoding, out.height, out.width) == (encoding, H, W)
            assert (out.header.frame_id, out.header.stamp.nanosec) == ("cam_night", 123)
            return image_to_array(out).astype(int)

        assert np.abs(roundtrip(1, "rgb8") - expected(rgb, 3.0)).max() <= 1
        bgr = roundtrip(2, "bgr8")[..., ::-1]
        assert np.abs(bgr - expected(rgb, 3.0)).max() <= 1
        assert node.set_parameters([Parameter("mode", value="day2night")])[0].successful
        assert np.abs(roundtrip(3, "rgb8") - expected(rgb, 0.25, 0.02)).max() <= 1
        assert node.stats.backend == "onnxruntime"
    finally:
        g.close()


def test_modes_without_their_model_are_refused(tmp_path):
    n2d = write_affine_translator(tmp_path / "n2d.onnx", "night2day", scale=2.0)
    g = InProcessGraph()
    try:
        node = g.add(WeatherNode(context=g.context, namespace="nt2", parameter_overrides=_params(
            night2day_model_path=str(n2d))))
        before = node.stats.counts["bad_parameter"]
        result = node.set_parameters([Parameter("mode", value="day2night")])[0]
        assert not result.successful and "day2night_model_path" in result.reason
        assert not node.set_parameters([Parameter("mode", value="derain")])[0].successful
        assert node.set_parameters([Parameter("mode", value="night2day")])[0].successful
        assert node.stats.counts["bad_parameter"] - before == 2
        with pytest.raises(ModelLoadError, match="mode 'day2night' needs day2night_model_path"):
            WeatherNode(context=g.context, namespace="nt3", parameter_overrides=_params(mode="day2night"))
        # the F export given where G is expected: refused at start, one line naming the parameter
        with pytest.raises(ModelLoadError, match="day2night_model_path .*night2day, not day2night"):
            WeatherNode(context=g.context, namespace="nt4", parameter_overrides=_params(
                day2night_model_path=str(n2d)))
    finally:
        g.close()


def test_a_pt2_model_needs_trust_pt2_model(tmp_path, monkeypatch):
    """A .pt2 is code (docs/security.md): weather_node refuses it unless trust_pt2_model is set, and
    passes the opt-in down to the runner it opens."""
    import shutil

    n2d = write_affine_translator(tmp_path / "n2d.onnx", "night2day", scale=2.0)
    pt2 = tmp_path / "evil" / "n2d.pt2"          # alone in its folder: no .onnx to fall back to
    pt2.parent.mkdir()
    shutil.copy(n2d, pt2)                        # never read: the refusal comes first
    shutil.copy(n2d.with_suffix(".json"), pt2.with_suffix(".json"))
    g = InProcessGraph()
    try:
        with pytest.raises(ModelLoadError, match="night2day_model_path.*PyTorch program"):
            WeatherNode(context=g.context, namespace="nt5", parameter_overrides=_params(
                backend="torch", night2day_model_path=str(pt2)))
        opened: list[bool] = []
        import rain_seg_ros.translate as translate
        real_open = translate.open_backend

        def recording(path, backend, device, cache, trust_pt2=False):   # what the node asks for
            opened.append(trust_pt2)
            return real_open(n2d, "onnxruntime", "cpu", cache)          # then serve the ONNX twin

        monkeypatch.setattr(translate, "open_backend", recording)
        g.add(WeatherNode(context=g.context, namespace="nt6", parameter_overrides=_params(
            backend="torch", night2day_model_path=str(pt2), trust_pt2_model=True)))
        assert opened == [True]
    finally:
        g.close()
