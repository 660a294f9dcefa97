"""launch_testing: `perception.launch.py` starts a graph that answers a camera frame with a mask.

Runs on ROS installs (pytest picks up launch_testing's plugin); skipped where launch_testing
is not importable, as in the pip-wheel environment of this repository.
"""

from __future__ import annotations

import tempfile
import time
import unittest
from pathlib import Path

import pytest

pytest.importorskip("launch_testing")

import launch_testing  # noqa: E402
import launch_testing.actions  # noqa: E402
import launch_testing.asserts  # noqa: E402
import numpy as np  # noqa: E402
from launch.launch_description_sources import PythonLaunchDescriptionSource  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402

import launch  # noqa: E402
from rain_seg_ros.codec import fill_image_msg, image_to_array, rgb_to_image_fields  # noqa: E402
from tests.rain_seg_ros.ros_fixtures import (  # noqa: E402
    RELIABLE,
    InProcessGraph,
    Probe,
    band_frame,
    wait_matched,
    write_band_segmenter,
)

LAUNCH_FILE = Path(__file__).resolve().parents[2] / "launch" / "perception.launch.py"


@pytest.mark.launch_test
def generate_test_description() -> launch.LaunchDescription:
    model = write_band_segmenter(Path(tempfile.mkdtemp()) / "band.onnx")
    arguments = {"model": str(model), "backend": "onnxruntime", "camera_topic": "/cam/image",
                 "params_file": str(LAUNCH_FILE.parents[1] / "config" / "perception.yaml")}
    return launch.LaunchDescription([
        launch.actions.IncludeLaunchDescription(PythonLaunchDescriptionSource(str(LAUNCH_FILE)),
                                                launch_arguments=arguments.items()),
        launch_testing.actions.ReadyToTest(),
    ])


class TestMaskComesBack(unittest.TestCase):
    def test_frame_in_mask_out(self) -> None:
        graph = InProcessGraph()
        try:
            probe = graph.add(Probe(graph.context))
            probe.listen(Image, "/segmentation_node/mask")
            pub = probe.create_publisher(Image, "/cam/image", RELIABLE)
            wait_matched(pub, timeout_s=60)
            time.sleep(0.5)
            msg = fill_image_msg(Image(), rgb_to_image_fields(band_frame(40, 60), "rgb8"))
            msg.header.frame_id = "launch_cam"
            pub.publish(msg)
            self.assertTrue(probe.wait_for(lambda: len(probe.received["/segmentation_node/mask"]) > 0, 20))
            mask_msg = probe.received["/segmentation_node/mask"][0]
            self.assertEqual(mask_msg.header.frame_id, "launch_cam")
            self.assertEqual(image_to_array(mask_msg).shape, (40, 60))
            self.assertTrue(set(np.unique(image_to_array(mask_msg))) <= {0, 8, 10})
        finally:
            graph.close()


@launch_testing.post_shutdown_test()
class TestShutdown(unittest.TestCase):
    def test_exit_codes(self, proc_info) -> None:
        launch_testing.asserts.assertExitCodes(proc_info, allowable_exit_codes=[0, -2, -15])
