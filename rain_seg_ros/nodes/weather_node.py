"""weather_node: derain, rainify, night->day or day->night camera frames in front of the
segmenter (or pass them through).

    ros2 run rain_seg_ros weather_node --ros-args -p mode:=rainify -p intensity:=0.7 \
        -p model_path:=artifacts/dsanet_encoder.onnx
    ros2 run rain_seg_ros weather_node --ros-args -p mode:=night2day \
        -p night2day_model_path:=artifacts/night2day.onnx

Subscribes `image` (or `image/compressed`), publishes `~/image` in the input's encoding
(compressed input is answered with rgb8) and with the input header, plus `/diagnostics`.
`mode`, `intensity` and `rain_style` can be changed while running.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import numpy as np
import rclpy
import rclpy.executors
from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import SetParametersResult
from rclpy.node import Node
from rclpy.parameter import Parameter
from sensor_msgs.msg import CompressedImage, Image

from rain_seg_ros.codec import fill_image_msg, rgb_to_image_fields
from rain_seg_ros.diagnostics import NodeStats
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
from rain_seg_ros.nodes.latest_frame import LatestFrameWorker

MODES = ("passthrough", "derain", "rainify", "night2day", "day2night")
DSANET_MODES = ("derain", "rainify")
TRANSLATE_MODES = ("night2day", "day2night")   # CycleGAN generators (rain_seg_ros.translate)
PARAMS = (
    Param("mode", "passthrough", "What to do to each frame.", choices=MODES),
    Param("intensity", 0.5, "Rain intensity for rainify (0 = none, 1 = strongest in the bank).", 0.0, 1.0),
    Param("rain_style", -1, "Index of the rain code in the bank for rainify (-1 = a random one per frame).",
          -1, 100000),
    Param("model_path", "", "Exported DSANet encoder (.onnx/.pt2/.engine); its sidecar names the generator "
          "and the rain-code bank next to it. Empty: no derain/rainify.", read_only=True),
    Param("night2day_model_path", "", "Exported CycleGAN F (python -m export onnx --direction night2day) "
          "for mode night2day. Empty: no night2day.", read_only=True),
    Param("day2night_model_path", "", "Exported CycleGAN G (--direction day2night) for mode day2night, "
          "e.g. to simulate night drives. Empty: no day2night.", read_only=True),
    Param("trust_pt2_model", False, "Allow .pt2 model paths. A .pt2 is a PyTorch program: loading it can "
          "run arbitrary code, so set true only for files from a source you trust; ONNX needs no trust.",
          read_only=True),
    Param("backend", "auto", "Inference backend.", read_only=True,
          choices=("auto", "onnxruntime", "torch", "tensorrt")),
    Param("device", "auto", "Device for the backend: auto, cpu, cuda or cuda:N.", read_only=True),
    Param("engine_cache_dir", "", "Where TensorRT engines built from the ONNX models are cached (empty: "
          "$XDG_CACHE_HOME/rain_seg_ros/engines, i.e. ~/.cache/rain_seg_ros/engines).", read_only=True),
    Param("compressed_input", False, "Subscribe image/compressed instead of image.", read_only=True),
    Param("max_rate_hz", 0.0, "Upper bound on processed frames per second (0 = as fast as possible).",
          0.0, 1000.0),
    *DECODE_PARAMS,
    *QOS_PARAMS,
)


class WeatherNode(Node):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__("weather_node", **kwargs)
        self.stats = NodeStats()
        self.params = declare_params(self, PARAMS, self.stats)
        self.model = self._open_model() if self.params["model_path"] else None
        self.translators: dict[str, Any] = {}
        try:
            self.translators = self._open_translators()
            reason = self._missing_model(self.params["mode"])
            if reason:
                raise ModelLoadError(reason)
        except ModelLoadError:
            self._close_models()   # the node is not built: release what was opened
            raise
        backends = ([self.model.encoder.name] if self.model is not None else []) + \
            [t.name for t in self.translators.values()]
        self.stats.backend = ",".join(dict.fromkeys(backends)) or "none"
        self.add_on_set_parameters_callback(self.parameters_callback)

        self.pub = self.create_publisher(Image, "~/image", qos_from_params(self.params, prefix="output_"))
        self.diag_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.worker = LatestFrameWorker(self._process, on_drop=lambda: self.stats.count("dropped"),
                                        on_error=FrameErrors(self, self.stats),
                                        min_period_s=self._min_period_s, name="weather_worker")
        in_qos = qos_from_params(self.params)
        if self.params["compressed_input"]:
            self.sub = self.create_subscription(CompressedImage, "image/compressed", self.image_callback,
                                                in_qos)
        else:
            self.sub = self.create_subscription(Image, "image", self.image_callback, in_qos)
        self.diag_timer = self.create_timer(1.0, self.diagnostics_callback)
        self.rng = np.random.default_rng()
        self.worker.start()
        self.get_logger().info(f"weather mode {self.params['mode']} on {self.sub.topic_name}")

    def _open_model(self) -> Any:
        from rain_seg_ros.weather import WeatherModel  # heavy: backends

        p = self.params
        try:
            return WeatherModel(p["model_path"], backend=p["backend"], device=p["device"],
                                engine_cache_dir=p["engine_cache_dir"] or None,
                                trust_pt2=p["trust_pt2_model"])
        except Exception as err:  # any failure here means: this model cannot be served
            raise ModelLoadError(f"cannot load DSANet model {p['model_path']!r}: {err}") from err

    def _open_translators(self) -> dict[str, Any]:
        from rain_seg_ros.translate import Translator  # heavy: backends

        p, out = self.params, {}
        for direction in TRANSLATE_MODES:
            path = p[f"{direction}_model_path"]
            if not path:
                continue
            try:
                out[direction] = Translator(path, backend=p["backend"], device=p["device"],
                                            engine_cache_dir=p["engine_cache_dir"] or None,
                                            direction=direction, trust_pt2=p["trust_pt2_model"])
            except Exception as err:  # any failure here means: this model cannot be served
                for opened in out.values():
                    opened.close()
                raise ModelLoadError(f"cannot load {direction}_model_path {path!r}: {err}") from err
        return out

    def _missing_model(self, mode: str) -> str:
        """Why `mode` cannot run with the models loaded ("" when it can)."""
        if mode in DSANET_MODES and self.model is None:
            return f"mode {mode!r} needs model_path (a DSANet encoder export)"
        if mode in TRANSLATE_MODES and mode not in self.translators:
            return f"mode {mode!r} needs {mode}_model_path (a CycleGAN export with --direction {mode})"
        return ""

    def parameters_callback(self, params: list[Parameter]) -> SetParametersResult:
        """Live changes: refuse a mode whose model is not loaded (declare_params refuses unknown modes)."""
        for p in params:
            reason = self._missing_model(p.value) if p.name == "mode" else ""
            if reason:
                self.stats.count("bad_parameter", error=reason)
                return SetParametersResult(successful=False, reason=reason)
        return SetParametersResult(successful=True)

    def _min_period_s(self) -> float:
        rate = self.get_parameter("max_rate_hz").value
        return 1.0 / rate if rate > 0 else 0.0

    def image_callback(self, msg: Image | CompressedImage) -> None:
        self.stats.frame_received()
        self.worker.submit((msg, time.monotonic()))

    def _process(self, item: tuple[Image | CompressedImage, float]) -> None:
        """Runs on the worker; whatever it raises is counted and logged by FrameErrors."""
        msg, received_s = item
        rgb = decode_frame(msg, self.params["max_image_pixels"])  # (H, W, 3) uint8
        encoding = "rgb8" if isinstance(msg, CompressedImage) else msg.encoding.lower()
        fields = rgb_to_image_fields(self._apply(rgb), encoding)
        self.pub.publish(fill_image_msg(Image(), fields, msg.header))
        self.stats.frame_published((time.monotonic() - received_s) * 1000)

    def _apply(self, rgb: np.ndarray) -> np.ndarray:
        mode = self.get_parameter("mode").value
        if mode in self.translators:
            return self.translators[mode](rgb)
        if mode == "passthrough" or self.model is None:
            return rgb
        if mode == "derain":
            return self.model.derain(rgb)
        style = int(self.get_parameter("rain_style").value)
        if style < 0:
            style = int(self.rng.integers(self.model.num_styles))
        elif style >= self.model.num_styles:
            raise ValueError(f"rain_style {style} but the bank has {self.model.num_styles} styles")
        return self.model.rainify(rgb, intensity=float(self.get_parameter("intensity").value), style=style)

    def diagnostics_callback(self) -> None:
        self.diag_pub.publish(diagnostics_message(self, self.stats, hardware_id=self.stats.backend))

    def destroy_node(self) -> None:
        if not hasattr(self, "worker"):   # __init__ failed before the worker existed (bad model): a
            super().destroy_node()         # context shutdown still destroys the half-built node
            return
        self.worker.stop()
        self._close_models()
        super().destroy_node()

    def _close_models(self) -> None:
        if self.model is not None:
            self.model.close()
        for translator in self.translators.values():
            translator.close()


def main(args: list[str] | None = None) -> int:
    rclpy.init(args=args)
    node = None
    try:
        node = WeatherNode()
        rclpy.spin(node)
    except ModelLoadError as err:
        print(f"weather_node: {err}", file=sys.stderr)
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
