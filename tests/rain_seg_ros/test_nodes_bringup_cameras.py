"""rain_seg_bringup --camera-topics: one segmentation_node serving several cameras."""

from __future__ import annotations

from pathlib import Path

import pytest

from rain_seg_ros.nodes.bringup import build_nodes, build_parser

from .ros_fixtures import write_band_segmenter

pytestmark = pytest.mark.ros
REPO = Path(__file__).resolve().parents[2]


def test_camera_topics_reach_one_node_with_per_camera_outputs(tmp_path):
    import rclpy

    model = write_band_segmenter(tmp_path / "band.onnx")
    args = ["--params", str(REPO / "config" / "perception.yaml"), "--model", str(model), "--backend",
            "onnxruntime", "--camera-topics", "/front/image_raw, /rear/image_raw", "--compressed"]
    rclpy.init()
    try:
        (node,) = build_nodes(build_parser().parse_args(args))
        try:
            assert [(c.name, c.topic) for c in node.cameras] == [("front", "/front/image_raw"),
                                                                 ("rear", "/rear/image_raw")]
            assert [s.topic_name for s in node.subs] == ["/front/image_raw/compressed",
                                                         "/rear/image_raw/compressed"]
            assert node.cameras[1].pubs["mask"].topic_name == "/segmentation_node/rear/mask"
        finally:
            node.destroy_node()
        with pytest.raises(SystemExit, match="--weather serves one camera"):
            build_nodes(build_parser().parse_args([*args, "--weather"]))
    finally:
        rclpy.try_shutdown()
