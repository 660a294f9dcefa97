"""Stand-ins for the condition tests of segmentation_node, in closed form (onnx.helper).

Condition estimator: the mean normalised colour of the frame's top STRIPE_ROWS rows -> 3x3
affine -> sigmoid = [P(rain), P(night), intensity]. A white stripe reads clear, a blue one
rain, a black one night (condition_logits gives the numbers). Segmenters: the 1x1-conv band
model of ros_fixtures with a choice of class per colour band, so the mask says which model
served a frame.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from rain_seg_ros.artifact import Artifact, TensorSpec
from rain_seg_ros.labels import IMAGENET_MEAN, IMAGENET_STD

from .ros_fixtures import band_frame, write_band_segmenter
from .runtime_fixtures import save_onnx

HEIGHT, WIDTH = 32, 48
STRIPE_ROWS = 4
STRIPES = {"clear": (255, 255, 255), "rain": (0, 0, 255), "night": (0, 0, 0)}
# rows: rain, night, intensity logits from the stripe's mean normalised (R, G, B)
COND_W = np.array([[0.0, -5.0, 5.0], [0.0, 0.0, -5.0], [0.0, -1.0, 1.0]], np.float32)
COND_B = np.array([-5.0, -2.0, 0.0], np.float32)


def write_stripe_condition(path: Path) -> Path:
    """The condition estimator stand-in (task "condition", the sidecar condition.py checks)."""
    consts = {"starts": [0], "ends": [STRIPE_ROWS // 2], "axes": [2], "mean_axes": [2, 3]}
    graph = helper.make_graph(
        [helper.make_node("Slice", ["image", "starts", "ends", "axes"], ["top"]),      # (B, 3, 2, W)
         helper.make_node("ReduceMean", ["top", "mean_axes"], ["m"], keepdims=0),     # (B, 3)
         helper.make_node("Gemm", ["m", "w", "b"], ["z"], transB=1),                  # (B, 3)
         helper.make_node("Sigmoid", ["z"], ["condition"])], "stripe_condition",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, HEIGHT, WIDTH])],
        [helper.make_tensor_value_info("condition", TensorProto.FLOAT, ["batch", 3])],
        initializer=[*(numpy_helper.from_array(np.array(v, np.int64), k) for k, v in consts.items()),
                     numpy_helper.from_array(COND_W, "w"), numpy_helper.from_array(COND_B, "b")])
    return save_onnx(graph, path, Artifact(
        task="condition", inputs=[TensorSpec("image", ["batch", 3, HEIGHT, WIDTH])],
        outputs=[TensorSpec("condition", ["batch", 3])], input_size=(HEIGHT, WIDTH),
        mean=IMAGENET_MEAN, std=IMAGENET_STD, class_names=["clear", "rain", "night", "rain+night"],
        extra={"output_columns": ["rain", "night", "intensity"]}))


def condition_outputs(stripe: tuple[int, int, int]) -> np.ndarray:
    """[P(rain), P(night), intensity] for a frame with this stripe colour, by numpy."""
    m = (np.asarray(stripe, np.float64) / 255.0 - np.asarray(IMAGENET_MEAN)) / np.asarray(IMAGENET_STD)
    return 1.0 / (1.0 + np.exp(-(COND_W.astype(np.float64) @ m + COND_B)))


def write_band_model(path: Path, classes: tuple[int, int, int]) -> Path:
    """Band segmenter: red, green, blue -> classes[0], classes[1], classes[2]."""
    return write_band_segmenter(path, HEIGHT, WIDTH, classes)


def condition_frame(condition: str) -> np.ndarray:
    """Red | green | blue bands under a stripe whose colour the estimator reads as `condition`."""
    rgb = band_frame(HEIGHT, WIDTH)
    rgb[:STRIPE_ROWS] = STRIPES[condition]
    return rgb


def band_labels(classes: tuple[int, int, int]) -> np.ndarray:
    """(H, W) expected ids inside the bands (255 where not checked: stripe rows, band edges)."""
    out = np.full((HEIGHT, WIDTH), 255, np.uint8)
    edges = np.linspace(0, WIDTH, 4).astype(int)
    for k, cls in enumerate(classes):
        out[STRIPE_ROWS:, edges[k] + 1:edges[k + 1] - 1] = cls
    return out
