"""rain_seg_bringup --night2day-model / --day2night-model: weather_node gets the CycleGAN exports and
segmentation_node reads its output."""

from __future__ import annotations

from pathlib import Path

import pytest

from rain_seg_ros.nodes.bringup import build_nodes, build_parser
from rain_seg_ros.nodes.common import ModelLoadError

from .ros_fixtures import write_band_segmenter
from .translate_fixtures import write_affine_translator

pytestmark = pytest.mark.ros
REPO = Path(__file__).resolve().parents[2]


def test_translator_flags_reach_weather_node(tmp_path):
    import rclpy

    seg = write_band_segmenter(tmp_path / "band.onnx")
    n2d = write_affine_translator(tmp_path / "n2d.onnx", "night2day", scale=2.0)
    d2n = write_affine_translator(tmp_path / "d2n.onnx", "day2night", scale=0.5)
    base = ["--params", str(REPO / "config" / "perception.yaml"), "--model", str(seg),
            "--backend", "onnxruntime", "--camera-topic", "/cam/image_raw",
            "--weather", "--weather-mode", "night2day"]
    rclpy.init()
    try:
        weather, segmenter = build_nodes(build_parser().parse_args(
            [*base, "--night2day-model", str(n2d), "--day2night-model", str(d2n)]))
        try:
            assert weather.get_parameter("mode").value == "night2day"
            assert weather.get_parameter("night2day_model_path").value == str(n2d)
            assert weather.get_parameter("day2night_model_path").value == str(d2n)
            assert {k: t.direction for k, t in weather.translators.items()} == {"night2day": "night2day",
                                                                                "day2night": "day2night"}
            assert weather.sub.topic_name == "/cam/image_raw"
            assert [s.topic_name for s in segmenter.subs] == ["/weather_node/image"]
        finally:
            weather.destroy_node()
            segmenter.destroy_node()
        # night2day without its model is one clear refusal, naming the parameter the flag sets
        with pytest.raises(ModelLoadError, match="night2day_model_path"):
            build_nodes(build_parser().parse_args([*base, "--day2night-model", str(d2n)]))
    finally:
        rclpy.try_shutdown()
