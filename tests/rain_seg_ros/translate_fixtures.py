"""A CycleGAN-generator stand-in with the real I/O and sidecar, in closed form (no ROS imports):
translated = clip(scale * image + offset, 0, 1) per pixel, so the expected frame is a numpy formula."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from rain_seg_ros.artifact import Artifact, TensorSpec

from .runtime_fixtures import save_onnx


def write_affine_translator(path: Path, direction: str, scale: float, offset: float = 0.0,
                            height: int = 24, width: int = 32, task: str = "cyclegan_generator") -> Path:
    graph = helper.make_graph(
        [helper.make_node("Mul", ["image", "scale"], ["scaled"]),
         helper.make_node("Add", ["scaled", "offset"], ["shifted"]),
         helper.make_node("Clip", ["shifted", "lo", "hi"], ["translated"])], "affine_translator",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, height, width])],
        [helper.make_tensor_value_info("translated", TensorProto.FLOAT, [1, 3, height, width])],
        initializer=[numpy_helper.from_array(np.array(v, np.float32), n)
                     for n, v in (("scale", scale), ("offset", offset), ("lo", 0.0), ("hi", 1.0))])
    return save_onnx(graph, path, Artifact(task=task, inputs=[TensorSpec("image", [1, 3, height, width])],
                                           outputs=[TensorSpec("translated", [1, 3, height, width])],
                                           input_size=(height, width), extra={"direction": direction}))


def expected(rgb: np.ndarray, scale: float, offset: float = 0.0) -> np.ndarray:
    """The formula on uint8 pixels (what a frame at the model's size must come back as)."""
    return np.clip(np.rint((rgb / 255.0 * scale + offset) * 255.0), 0, 255)
