"""segmentation_node: camera frames in, segmentation masks out.

    ros2 run rain_seg_ros segmentation_node --ros-args -p model_path:=model.onnx -r image:=/camera/image_raw

    ros2 run rain_seg_ros segmentation_node --ros-args -p model_path:=model.onnx \
        -p camera_topics:="[/front/image_raw, /left/image_raw]"

Subscribes `image` (sensor_msgs/Image) or, with `compressed_input:=true`, `image/compressed`.
Publishes `~/mask` (mono8 train ids, 255 = ignore, camera resolution), `~/color_mask` (rgb8),
`~/overlay` (rgb8), `~/confidence` (mono8) and `/diagnostics` at 1 Hz. Every output carries
the input header. Decoding and inference run on a worker thread that always takes the newest
frame; frames replaced while waiting are counted as dropped.

Many cameras: with `camera_topics` set, each camera's outputs go to `~/<camera>/mask` ...
(names from `camera_names` or the topics, nodes/cameras.py). The worker takes the newest
frame of every camera that has one waiting and segments them in ONE batch; a camera that
sends nothing is not waited for. Drops and latency are kept per camera (one diagnostic status
each).

When the backend is TensorRT and no engine is cached for this GPU, the engine is built on a
background thread: /diagnostics says "building engine" (WARN) and frames are counted as
not_ready until the model is open.

Conditions (nodes/conditions.py): with `condition_model_path` and `models` (CONDITION:PATH
entries), every model loads at start, the estimator runs on each batch before segmentation, the
model switches with hysteresis (`switch_hold_frames`) and `~/condition` (DiagnosticArray, the
frame's header) carries the estimate and the active model. `smoothing_alpha` > 0 smooths the
returned labels over time; `degraded_status` turns /diagnostics WARN on low confidence, judged on
every `degraded_every_frames`-th inference (nodes/result_filters.py).

A `.pt2` model_path is a PyTorch program that can run code when loaded: the node loads it only
with `trust_pt2_model:=true`; otherwise it refuses, or (backend auto) serves the .onnx/.engine of
the same stem when there is one.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

import rclpy
import rclpy.executors
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node
from sensor_msgs.msg import CompressedImage, Image

from rain_seg_ros.codec import CodecError
from rain_seg_ros.diagnostics import NodeStats
from rain_seg_ros.nodes.cameras import Camera, plan_cameras
from rain_seg_ros.nodes.common import (
    DECODE_PARAMS,
    QOS_PARAMS,
    FrameErrors,
    ModelLoadError,
    Param,
    declare_params,
    decode_frame,
    diagnostics_message,
    qos_from_params,
)
from rain_seg_ros.nodes.conditions import CONDITION_PARAMS, ConditionRouter
from rain_seg_ros.nodes.latest_frame import LatestFramesWorker
from rain_seg_ros.nodes.model_loading import engine_build_needed
from rain_seg_ros.nodes.outputs import publish_outputs
from rain_seg_ros.nodes.result_filters import FILTER_PARAMS, ResultFilters

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
    Param("camera_topics", [], "Camera image topics served by this node, batched into one inference "
          "(/compressed is appended with compressed_input). Empty: the single topic image, outputs "
          "~/mask ...; set: outputs ~/<camera>/mask ... per camera.", read_only=True),
    Param("camera_names", [], "One name per camera_topics entry for its outputs (~/<name>/mask); "
          "empty: derived from the topic (/front/image_raw -> front).", read_only=True),
    Param("outputs", list(OUTPUTS), "Outputs to advertise (subset of mask, color_mask, overlay, "
          "confidence); optional ones are only computed while someone subscribes.", read_only=True),
    Param("overlay_alpha", 0.5, "Weight of the class colours in ~/overlay.", 0.0, 1.0),
    Param("max_rate_hz", 0.0, "Upper bound on processed frames per second (0 = as fast as possible).",
          0.0, 1000.0),
    *CONDITION_PARAMS,
    *FILTER_PARAMS,
    *DECODE_PARAMS,
    *QOS_PARAMS,
)


class SegmentationNode(Node):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__("segmentation_node", **kwargs)
        self.stats = NodeStats()
        self._infer_lock = threading.Lock()  # held around inference; closing the backend takes it too
        self._closing = False
        self.params = declare_params(self, PARAMS, self.stats)
        self.segmenter: Any = None  # None while a TensorRT engine is built in the background
        self.model_state = ""  # "" when serving, else what diagnostics report instead of "ok"
        self.backend_name = self.params["backend"]
        self.cameras = self._make_cameras()
        self._start_model()
        self.filters = ResultFilters(self.params)
        self.router = ConditionRouter(self.params, self._open_segmenter, self._report_problem)

        outputs = [o for o in self.params["outputs"] if o in OUTPUTS]
        if len(outputs) != len(self.params["outputs"]):
            self.get_logger().error(f"unknown outputs in {self.params['outputs']}; known: {OUTPUTS}")
            self.stats.count("bad_parameter", error=f"outputs={self.params['outputs']}")
        out_qos, in_qos = qos_from_params(self.params, prefix="output_"), qos_from_params(self.params)
        compressed = self.params["compressed_input"]
        msg_type, suffix = (CompressedImage, "/compressed") if compressed else (Image, "")
        self.subs = []
        for cam in self.cameras:
            cam.pubs = {name: self.create_publisher(Image, cam.output_topic(name), out_qos)
                        for name in outputs}
            self.subs.append(self.create_subscription(
                msg_type, cam.topic + suffix, lambda msg, key=cam.key: self.image_callback(msg, key), in_qos))
        self.diag_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.condition_pub = (self.create_publisher(DiagnosticArray, "~/condition", out_qos)
                              if self.router.enabled else None)

        self.worker = LatestFramesWorker(self._process_batch,
                                         on_drop=lambda key: self.cameras[key].count("dropped"),
                                         on_error=FrameErrors(self, self.stats),
                                         min_period_s=self._min_period_s, name="segmentation_worker")
        self.diag_timer = self.create_timer(1.0, self.diagnostics_callback)
        self.worker.start()
        self.get_logger().info(f"segmenting {', '.join(s.topic_name for s in self.subs)} with "
                               f"{self.backend_name}; publishing {', '.join(outputs)}"
                               + (f" per camera ({', '.join(c.name for c in self.cameras)})"
                                  if self.cameras[0].name else ""))

    def _make_cameras(self) -> list[Camera]:
        topics, names = list(self.params["camera_topics"]), list(self.params["camera_names"])
        if not topics:
            if names:
                self.stats.set_lasting_error("camera_names", "camera_names is set but camera_topics is "
                                             "empty; set camera_topics too")
            return [Camera(0, "", "image", self.stats, self.stats)]
        planned, problems = plan_cameras(topics, names)
        for problem in problems:
            self.get_logger().error(problem)
            self.stats.count("bad_parameter", error=problem)
            self.stats.set_lasting_error(problem.split()[0], problem)
        return [Camera(k, name, topic, NodeStats(backend=self.backend_name), self.stats)
                for k, (topic, name) in enumerate(planned)]

    def _start_model(self) -> None:
        """Open the model now, or, when a TensorRT engine must be built first, on a thread."""
        p = self.params
        if not engine_build_needed(p["model_path"], p["backend"], p["device"], p["engine_cache_dir"] or None,
                                   p["trust_pt2_model"]):
            self._serve(self._open_segmenter())
            return
        self.model_state = (f"building engine for {p['model_path']}: frames are dropped (not_ready) "
                            f"until it is ready")
        self.backend_name = "tensorrt"
        self.get_logger().warning(f"no cached TensorRT engine for this GPU: {self.model_state}")
        threading.Thread(target=self._open_in_background, name="engine_build", daemon=True).start()

    def _open_in_background(self) -> None:
        try:
            segmenter = self._open_segmenter()
        except ModelLoadError as err:
            self.model_state = ""  # the lasting error below says it (ERROR level)
            self.stats.set_lasting_error("model_path", str(err))
            self.get_logger().error(str(err))
            return
        with self._infer_lock:
            if self._closing:  # the node went away during the build
                segmenter.close()
                return
            self._serve(segmenter)
        self.get_logger().info(f"model ready ({self.backend_name}); serving frames")

    def _report_problem(self, parameter: str, problem: str) -> None:
        self.get_logger().error(problem)
        self.stats.set_lasting_error(parameter, problem)

    def _serve(self, segmenter: Any) -> None:
        self.backend_name = segmenter.backend_name
        for stats in [self.stats, *(c.stats for c in self.cameras)]:
            stats.backend = self.backend_name
        self.model_state = ""
        self.segmenter = segmenter

    def _open_segmenter(self, path: str | None = None) -> Any:
        """The model_path model, or the one at `path` (a condition's model)."""
        from rain_seg_ros.backends import UntrustedModelError
        from rain_seg_ros.segmenter import Segmenter  # heavy: onnxruntime / torch / tensorrt

        path = self.params["model_path"] if path is None else path
        if not path.strip():
            raise ModelLoadError("parameter model_path is not set: pass -p model_path:=/path/model.onnx "
                                 "(an exported model with its .json sidecar)")
        try:
            return Segmenter(path, backend=self.params["backend"], device=self.params["device"],
                             engine_cache_dir=self.params["engine_cache_dir"] or None,
                             trust_pt2=self.params["trust_pt2_model"])
        except UntrustedModelError as err:
            raise ModelLoadError(f"cannot load segmentation model: model_path {err.path} is a PyTorch "
                                 f"program and can run code when loaded; set trust_pt2_model:=true only "
                                 f"if you trust its source, or export and use an .onnx") from err
        except Exception as err:  # any failure here means: this model cannot be served
            raise ModelLoadError(f"cannot load segmentation model (model_path {path!r}, "
                                 f"backend {self.params['backend']}): {err}") from err

    def _min_period_s(self) -> float:
        rate = self.get_parameter("max_rate_hz").value
        return 1.0 / rate if rate > 0 else 0.0

    def image_callback(self, msg: Image | CompressedImage, key: int = 0) -> None:
        """Runs on the executor: note the receipt time and hand over; nothing heavy here."""
        cam = self.cameras[key]
        cam.frame_received()
        if self.segmenter is None:
            cam.count("not_ready")
            return
        self.worker.submit((msg, time.monotonic()), key)

    def _process_batch(self, batch: dict[Any, tuple[Image | CompressedImage, float]]) -> None:
        """The newest frame of each camera that has one: decode each, ONE inference, publish each."""
        frames = []  # (camera, message, received_s, rgb, decode_ms)
        for key, (msg, received_s) in batch.items():
            cam, t0 = self.cameras[key], time.monotonic()
            try:
                rgb = decode_frame(msg, self.params["max_image_pixels"])  # (H, W, 3) uint8
            except CodecError as err:
                cam.count("bad_frame", error=str(err))
                self.get_logger().warning(f"skipping bad frame from {cam.topic}: {err}",
                                          throttle_duration_sec=5.0)
                continue
            frames.append((cam, msg, received_s, rgb, (time.monotonic() - t0) * 1000))
        if not frames:
            return
        # confidence_needed() on every batch (never short-circuited): it counts inferences
        wanted = any(c.wanted("confidence") for c in self.cameras)
        want_confidence = self.filters.confidence_needed() or wanted
        try:
            with self._infer_lock:
                condition_ms = self.router.route([f[3] for f in frames], self.stats, self.get_logger(),
                                                 on_switch=self.filters.reset)
                segmenter = self.router.segmenter(self.segmenter)
                results = segmenter.segment_batch([f[3] for f in frames], want_confidence=want_confidence)
        except Exception as err:  # keep serving the next batch whatever this one did
            for cam, *_ in frames:
                cam.count("processing_error", error=repr(err))
            self.get_logger().error(f"inference failed: {err!r}", throttle_duration_sec=5.0)
            return
        for (cam, msg, received_s, rgb, decode_ms), result in zip(frames, results):
            t1 = time.monotonic()
            try:
                mask, confidence, filter_ms = self.filters.apply(cam.key, rgb, result.mask, result.confidence)
                publish_outputs(cam, msg.header, rgb, mask, confidence, segmenter.colorize,
                                float(self.get_parameter("overlay_alpha").value))
            except Exception as err:  # one camera's failure must not cost the others their frame
                cam.count("processing_error", error=repr(err))
                self.get_logger().error(f"publishing for {cam.topic} failed: {err!r}",
                                        throttle_duration_sec=5.0)
                continue
            done = time.monotonic()
            stages = {k: float(v) for k, v in result.timings_ms.items() if k != "total"}
            stages.update(decode=decode_ms, publish=(done - t1) * 1000, **filter_ms)
            if condition_ms is not None:
                stages["condition"] = condition_ms
            cam.frame_published((done - received_s) * 1000, stages)
        if self.condition_pub is not None:
            self.condition_pub.publish(self.router.message(frames[0][1].header,
                                                           f"{self.get_fully_qualified_name()}: condition"))

    def diagnostics_callback(self) -> None:
        cameras = [(c.name, c.topic, c.stats) for c in self.cameras if c.stats is not self.stats]
        degraded, values = self.filters.state()
        values.update(self.router.figures())
        self.diag_pub.publish(diagnostics_message(self, self.stats, hardware_id=self.backend_name,
                                                  state=self.model_state or degraded, cameras=cameras,
                                                  extra=values))

    def destroy_node(self) -> None:
        if not hasattr(self, "worker"):   # __init__ failed before the worker existed (bad model): a
            super().destroy_node()         # context shutdown still destroys the half-built node
            return
        self.worker.stop()
        # The worker's join gives up after a timeout, so it may still be inside segment_batch(): close
        # the backend only once no inference holds it (freeing a TensorRT/CUDA runner mid-call can crash).
        if self._infer_lock.acquire(timeout=CLOSE_WAIT_S):
            try:
                self._closing = True  # an engine still being built is closed by its thread when done
                if self.segmenter is not None:
                    self.segmenter.close()
                self.router.close()
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

