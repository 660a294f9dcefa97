"""segmentation_node: camera frames in, segmentation masks out.

    ros2 run rain_seg_ros segmentation_node --ros-args -p model_path:=model.onnx -r image:=/camera/image_raw

Subscribes `image` (sensor_msgs/Image) or, with `compressed_input:=true`, `image/compressed`.
Publishes `~/mask` (mono8 train ids, 255 = ignore, camera resolution), `~/color_mask` (rgb8),
`~/overlay` (rgb8), `~/confidence` (mono8) and `/diagnostics` at 1 Hz. Every output carries
the input header. Decoding and inference run on a worker thread that always takes the newest
frame; frames replaced while waiting are counted as dropped.

A `.pt2` model_path is a PyTorch program that can run code when loaded: the node loads it only
with `trust_pt2_model:=true`; otherwise it refuses, or (backend auto) serves the .onnx/.engine of
the same stem when there is one.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

import cv2
import numpy as np
import rclpy
import rclpy.executors
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node
from sensor_msgs.msg import CompressedImage, Image

from rain_seg_ros.codec import CodecError, fill_image_msg, imgmsg_to_rgb, rgb_to_image_fields
from rain_seg_ros.codec import array_to_image_fields as fields_of
from rain_seg_ros.compressed import compressed_to_rgb
from rain_seg_ros.diagnostics import NodeStats
from rain_seg_ros.nodes.common import (
    DECODE_PARAMS,
    QOS_PARAMS,
    FrameErrors,
    ModelLoadError,
    Param,
    declare_params,
    diagnostics_message,
    qos_from_params,
)
from rain_seg_ros.nodes.latest_frame import LatestFrameWorker

OUTPUTS = ("mask", "color_mask", "overlay", "confidence")
CLOSE_WAIT_S = 30.0  # shutdown waits this long for an inference in progress before leaving the backend open
PARAMS = (
    Param("model_path", "", "Exported segmentation model (.onnx/.pt2/.engine with its .json sidecar).",
          read_only=True),
    Param("trust_pt2_model", False, "Allow a .pt2 model_path. A .pt2 is a PyTorch program: loading it "
          "can run arbitrary code, so set true only for files from a source you trust; ONNX needs no trust.",
          read_only=True),
    Param("backend", "auto", "Inference backend.", read_only=True,
          choices=("auto", "onnxruntime", "torch", "tensorrt")),
    Param("device", "auto", "Device for the backend: auto, cpu, cuda or cuda:N.", read_only=True),
    Param("engine_cache_dir", "", "Where TensorRT engines built from the ONNX model are cached (empty: "
          "$XDG_CACHE_HOME/rain_seg_ros/engines, i.e. ~/.cache/rain_seg_ros/engines).", read_only=True),
    Param("compressed_input", False, "Subscribe image/compressed (CompressedImage) instead of image.",
          read_only=True),
    Param("outputs", list(OUTPUTS), "Outputs to advertise (subset of mask, color_mask, overlay, "
          "confidence); optional ones are only computed while someone subscribes.", read_only=True),
    Param("overlay_alpha", 0.5, "Weight of the class colours in ~/overlay.", 0.0, 1.0),
    Param("max_rate_hz", 0.0, "Upper bound on processed frames per second (0 = as fast as possible).",
          0.0, 1000.0),
    *DECODE_PARAMS,
    *QOS_PARAMS,
)


class SegmentationNode(Node):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__("segmentation_node", **kwargs)
        self.stats = NodeStats()
        self._infer_lock = threading.Lock()  # held around inference; closing the backend takes it too
        self.params = declare_params(self, PARAMS, self.stats)
        self.segmenter = self._open_segmenter()
        self.stats.backend = self.backend_name

        outputs = [o for o in self.params["outputs"] if o in OUTPUTS]
        if len(outputs) != len(self.params["outputs"]):
            self.get_logger().error(f"unknown outputs in {self.params['outputs']}; known: {OUTPUTS}")
            self.stats.count("bad_parameter", error=f"outputs={self.params['outputs']}")
        out_qos = qos_from_params(self.params, prefix="output_")
        self.pubs = {name: self.create_publisher(Image, f"~/{name}", out_qos) for name in outputs}
        self.diag_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)

        self.worker = LatestFrameWorker(self._process, on_drop=lambda: self.stats.count("dropped"),
                                        on_error=FrameErrors(self, self.stats),
                                        min_period_s=self._min_period_s, name="segmentation_worker")
        in_qos = qos_from_params(self.params)
        if self.params["compressed_input"]:
            self.sub = self.create_subscription(CompressedImage, "image/compressed", self.image_callback,
                                                in_qos)
        else:
            self.sub = self.create_subscription(Image, "image", self.image_callback, in_qos)
        self.diag_timer = self.create_timer(1.0, self.diagnostics_callback)
        self.worker.start()
        self.get_logger().info(f"segmenting {self.sub.topic_name} with {self.backend_name}; "
                               f"publishing {', '.join(self.pubs)}")

    def _open_segmenter(self) -> Any:
        from rain_seg_ros.backends import UntrustedModelError
        from rain_seg_ros.segmenter import Segmenter  # heavy: onnxruntime / torch / tensorrt

        path = self.params["model_path"]
        if not path.strip():
            raise ModelLoadError("parameter model_path is not set: pass -p model_path:=/path/model.onnx "
                                 "(an exported model with its .json sidecar)")
        try:
            segmenter = Segmenter(path, backend=self.params["backend"], device=self.params["device"],
                                  engine_cache_dir=self.params["engine_cache_dir"] or None,
                                  trust_pt2=self.params["trust_pt2_model"])
        except UntrustedModelError as err:
            raise ModelLoadError(f"cannot load segmentation model: model_path {err.path} is a PyTorch "
                                 f"program and can run code when loaded; set trust_pt2_model:=true only "
                                 f"if you trust its source, or export and use an .onnx") from err
        except Exception as err:  # any failure here means: this model cannot be served
            raise ModelLoadError(f"cannot load segmentation model (model_path {path!r}, "
                                 f"backend {self.params['backend']}): {err}") from err
        self.backend_name = segmenter.backend_name
        return segmenter

    def _min_period_s(self) -> float:
        rate = self.get_parameter("max_rate_hz").value
        return 1.0 / rate if rate > 0 else 0.0

    def image_callback(self, msg: Image | CompressedImage) -> None:
        """Runs on the executor: note the receipt time and hand over; nothing heavy here."""
        self.stats.frame_received()
        self.worker.submit((msg, time.monotonic()))

    def _wanted(self, name: str) -> bool:
        pub = self.pubs.get(name)
        return pub is not None and pub.get_subscription_count() > 0

    def _process(self, item: tuple[Image | CompressedImage, float]) -> None:
        msg, received_s = item
        stages: dict[str, float] = {}
        t0 = time.monotonic()
        try:
            if isinstance(msg, CompressedImage):
                rgb = compressed_to_rgb(msg.format, msg.data, self.params["max_image_pixels"])
            else:
                rgb = imgmsg_to_rgb(msg, self.params["max_image_pixels"])  # (H, W, 3) uint8
        except CodecError as err:
            self.stats.count("bad_frame", error=str(err))
            self.get_logger().warning(f"skipping bad frame: {err}", throttle_duration_sec=5.0)
            return
        stages["decode"] = (time.monotonic() - t0) * 1000
        try:
            with self._infer_lock:
                result = self.segmenter.segment(rgb)
            t1 = time.monotonic()
            self._publish(msg.header, rgb, result.mask, result.confidence)
        except Exception as err:  # keep serving the next frame whatever one frame did
            self.stats.count("processing_error", error=repr(err))
            self.get_logger().error(f"processing failed: {err!r}", throttle_duration_sec=5.0)
            return
        done = time.monotonic()
        stages.update({k: float(v) for k, v in result.timings_ms.items() if k != "total"})
        stages["publish"] = (done - t1) * 1000
        self.stats.frame_published((done - received_s) * 1000, stages)

    def _publish(self, header: Any, rgb: np.ndarray, mask: np.ndarray, confidence: np.ndarray) -> None:
        """mask (H, W) uint8 ids and confidence (H, W) uint8, both at camera resolution."""
        if "mask" in self.pubs:
            self.pubs["mask"].publish(fill_image_msg(Image(), fields_of(mask, "mono8"), header))
        colours = None
        if self._wanted("color_mask") or self._wanted("overlay"):
            colours = self.segmenter.colorize(mask)  # (H, W, 3) with the sidecar's palette
        if colours is not None and self._wanted("color_mask"):
            self.pubs["color_mask"].publish(fill_image_msg(Image(), rgb_to_image_fields(colours), header))
        if colours is not None and self._wanted("overlay"):
            alpha = float(self.get_parameter("overlay_alpha").value)
            overlay = cv2.addWeighted(rgb, 1.0 - alpha, colours, alpha, 0.0)
            overlay[mask == 255] = rgb[mask == 255]  # ignore pixels stay untinted
            self.pubs["overlay"].publish(fill_image_msg(Image(), rgb_to_image_fields(overlay), header))
        if self._wanted("confidence"):
            self.pubs["confidence"].publish(fill_image_msg(Image(), fields_of(confidence, "mono8"), header))

    def diagnostics_callback(self) -> None:
        self.diag_pub.publish(diagnostics_message(self, self.stats, hardware_id=self.backend_name))

    def destroy_node(self) -> None:
        self.worker.stop()
        # The worker's join gives up after a timeout, so it may still be inside segment(): close the
        # backend only once no inference holds it (freeing a TensorRT/CUDA runner mid-call can crash).
        if self._infer_lock.acquire(timeout=CLOSE_WAIT_S):
            try:
                self.segmenter.close()
            finally:
                self._infer_lock.release()
        else:
            self.get_logger().error(f"inference still running after {CLOSE_WAIT_S:.0f} s at shutdown; "
                                    f"leaving the backend open")
        super().destroy_node()


def main(args: list[str] | None = None) -> int:
    rclpy.init(args=args)
    node = None
    try:
        node = SegmentationNode()
        rclpy.spin(node)
    except ModelLoadError as err:
        print(f"segmentation_node: {err}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, rclpy.executors.ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())

