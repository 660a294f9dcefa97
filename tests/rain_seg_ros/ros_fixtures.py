"""Helpers for the real-DDS node tests: a tiny ONNX segmenter with the real I/O signature
(image (B, 3, H, W) -> logits (B, 19, H, W)) whose answer is known in closed form, and a
small in-process ROS graph (own rclpy Context, executor thread) with a probe node, and a
DSANet stand-in for weather_node.

The model is a 1x1 convolution: logits = W @ normalised_rgb + b, with only road (0),
vegetation (8) and sky (10) reachable, so red, green and blue areas become 0, 8 and 10.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import rclpy
from onnx import TensorProto, helper, numpy_helper
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image

from rain_seg_ros.artifact import Artifact, TensorSpec, write_artifact
from rain_seg_ros.codec import fill_image_msg, rgb_to_image_fields
from rain_seg_ros.labels import CITYSCAPES_CLASSES, CITYSCAPES_PALETTE, IMAGENET_MEAN, IMAGENET_STD

from .runtime_fixtures import save_onnx

NUM_CLASSES = len(CITYSCAPES_CLASSES)
BAND_COLOURS = ((255, 0, 0), (0, 255, 0), (0, 0, 255))
BAND_CLASSES = (0, 8, 10)
RELIABLE = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=50, reliability=ReliabilityPolicy.RELIABLE)


def band_weights(classes: tuple[int, int, int] = BAND_CLASSES) -> tuple[np.ndarray, np.ndarray]:
    """1x1-conv weights: red, green, blue -> classes[0], classes[1], classes[2]."""
    weight = np.zeros((NUM_CLASSES, 3), np.float32)
    bias = np.full(NUM_CLASSES, -50.0, np.float32)
    for channel, cls in enumerate(classes):
        weight[cls, channel] = 10.0
        bias[cls] = 0.0
    return weight, bias


def write_band_segmenter(path: Path, height: int = 32, width: int = 48,
                         classes: tuple[int, int, int] = BAND_CLASSES) -> Path:
    """ONNX + sidecar of the 1x1-conv band segmenter at `path` (.onnx)."""
    weight, bias = band_weights(classes)
    graph = helper.make_graph(
        [helper.make_node("Conv", ["image", "w", "b"], ["logits"])], "band_segmenter",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, height, width])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", NUM_CLASSES, height, width])],
        initializer=[numpy_helper.from_array(weight[:, :, None, None], "w"),
                     numpy_helper.from_array(bias, "b")])
    return save_onnx(graph, path, Artifact(
        task="segmentation", inputs=[TensorSpec("image", ["batch", 3, height, width])],
        outputs=[TensorSpec("logits", ["batch", NUM_CLASSES, height, width])], input_size=(height, width),
        mean=IMAGENET_MEAN, std=IMAGENET_STD, class_names=list(CITYSCAPES_CLASSES),
        palette=[tuple(c) for c in CITYSCAPES_PALETTE], ignore_index=255))


def reference_mask(rgb: np.ndarray) -> np.ndarray:
    """Expected class per pixel of an RGB image, by the numpy formula of the model."""
    weight, bias = band_weights()
    x = (rgb.astype(np.float64) / 255.0 - np.asarray(IMAGENET_MEAN)) / np.asarray(IMAGENET_STD)
    return np.argmax(x @ weight.T.astype(np.float64) + bias, axis=-1).astype(np.uint8)


def band_frame(height: int, width: int) -> np.ndarray:
    """(H, W, 3) uint8: red | green | blue vertical bands."""
    rgb = np.zeros((height, width, 3), np.uint8)
    edges = np.linspace(0, width, 4).astype(int)
    for k, colour in enumerate(BAND_COLOURS):
        rgb[:, edges[k]:edges[k + 1]] = colour
    return rgb


def band_interior(height: int, width: int, margin: int = 4) -> np.ndarray:
    """(H, W) bool: pixels at least `margin` columns away from a band edge (resizing can blur edges)."""
    cols = np.arange(width)
    edges = np.linspace(0, width, 4).astype(int)[1:-1]
    keep = np.all(np.abs(cols[None, :] - edges[:, None]) >= margin, axis=0)
    return np.broadcast_to(keep, (height, width))


class Probe(Node):
    """Publishes test frames and records whatever arrives on the topics it listens to."""

    def __init__(self, context: Any) -> None:
        super().__init__("test_probe", context=context)
        self.received: dict[str, list[Any]] = defaultdict(list)
        self.counts: Counter[str] = Counter()  # total per topic, even after `received` is trimmed
        self._cond = threading.Condition()
        self._subs: list[Any] = []

    def listen(self, msg_type: Any, topic: str, qos: Any = RELIABLE) -> None:
        def callback(msg: Any, topic: str = topic) -> None:
            with self._cond:
                self.received[topic].append(msg)
                self.counts[topic] += 1
                self._cond.notify_all()
        self._subs.append(self.create_subscription(msg_type, topic, callback, qos))

    def wait_for(self, predicate: Any, timeout_s: float = 10.0) -> bool:
        with self._cond:
            return self._cond.wait_for(predicate, timeout=timeout_s)


class InProcessGraph:
    """rclpy Context + one SingleThreadedExecutor on a thread (rclpy's MultiThreadedExecutor stalled
    whole processes for 0.1-1 s on the 2-core dev machine, docs/ros.md); nodes talk through DDS."""

    def __init__(self) -> None:
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.nodes: list[Node] = []
        self._thread = threading.Thread(target=self.executor.spin, daemon=True)
        self._thread.start()

    def add(self, node: Node) -> Node:
        self.nodes.append(node)
        self.executor.add_node(node)
        return node

    def close(self) -> None:
        self.executor.shutdown()
        self._thread.join(timeout=5.0)  # out of spin() before the nodes and the context go
        for node in self.nodes:
            node.destroy_node()
        rclpy.try_shutdown(context=self.context)


def wait_matched(publisher: Any, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while publisher.get_subscription_count() == 0:
        assert time.monotonic() < deadline, f"nobody subscribed {publisher.topic_name}"
        time.sleep(0.02)


def write_additive_dsanet(folder: Path, height: int = 32, width: int = 48, styles: int = 3) -> Path:
    """DSANet stand-in with the real I/O and sidecars, in closed form (returns the encoder path).

    encoder: 4x4 average pool -> feature (1, 6, H/4, W/4): background = the pooled image, rain = 0
    generator: background + rain, nearest x4 upsampling -> (1, 3, H, W)
    bank: style k is the constant code 0.1 * (k + 1), so for a uniform colour c in [0, 1]
    derain gives c and rainify(intensity t, style k) gives min(c + 0.1 * t * (k + 1), 1).
    """
    from safetensors.numpy import save_file

    h, w = height // 4, width // 4
    we = np.concatenate([np.eye(3), np.zeros((3, 3))]).astype(np.float32)      # (6, 3)
    wg = np.concatenate([np.eye(3), np.eye(3)], axis=1).astype(np.float32)      # (3, 6)
    enc = helper.make_graph(
        [helper.make_node("AveragePool", ["image"], ["pooled"], kernel_shape=[4, 4], strides=[4, 4]),
         helper.make_node("Conv", ["pooled", "we"], ["feature"])], "encoder",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, height, width])],
        [helper.make_tensor_value_info("feature", TensorProto.FLOAT, [1, 6, h, w])],
        initializer=[numpy_helper.from_array(we[:, :, None, None], "we")])
    gen = helper.make_graph(
        [helper.make_node("Conv", ["feature", "wg"], ["low"]),
         helper.make_node("Resize", ["low", "", "scales"], ["image"], mode="nearest")], "generator",
        [helper.make_tensor_value_info("feature", TensorProto.FLOAT, [1, 6, h, w])],
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, height, width])],
        initializer=[numpy_helper.from_array(wg[:, :, None, None], "wg"),
                     numpy_helper.from_array(np.array([1, 1, 4, 4], np.float32), "scales")])
    extra = {"code_channels": 6, "no_rain_code": "zeros", "encoder": "wx_encoder",
             "generator": "wx_generator", "rain_bank": "wx_rain_bank.safetensors"}
    image = TensorSpec("image", [1, 3, height, width])
    feature = TensorSpec("feature", [1, 6, h, w])
    for name, graph, inputs, outputs in (("encoder", enc, [image], [feature]),
                                         ("generator", gen, [feature], [image])):
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
        model.ir_version = 9
        onnx.checker.check_model(model)
        onnx.save(model, str(folder / f"wx_{name}.onnx"))
        write_artifact(Artifact(task=f"dsanet_{name}", inputs=inputs, outputs=outputs,
                                input_size=(height, width), extra=extra), folder / f"wx_{name}.onnx")
    bank = np.stack([np.full((3, h, w), 0.1 * (k + 1), np.float32) for k in range(styles)])
    save_file({"rain_codes": bank}, str(folder / "wx_rain_bank.safetensors"),
              metadata={"format": "rain_seg_ros.rain_bank/1"})
    return folder / "wx_encoder.onnx"


def frame_msg(rgb: np.ndarray, encoding: str, sec: int, frame_id: str) -> Image:
    msg = fill_image_msg(Image(), rgb_to_image_fields(rgb, encoding))
    msg.header.stamp.sec, msg.header.stamp.nanosec, msg.header.frame_id = sec, 123, frame_id
    return msg


def by_stamp(probe: Probe, topic: str, sec: int, timeout_s: float = 10.0) -> Image:
    assert probe.wait_for(lambda: any(m.header.stamp.sec == sec for m in probe.received[topic]), timeout_s), \
        f"nothing with stamp {sec} on {topic}"
    return next(m for m in probe.received[topic] if m.header.stamp.sec == sec)
