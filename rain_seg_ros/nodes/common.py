"""Pieces both nodes share: described parameters, QoS from parameters, frame decoding and
error reporting, diagnostics messages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, SetParametersResult
from rclpy.exceptions import ParameterException
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import CompressedImage, Image

from rain_seg_ros.codec import MAX_PIXELS, CodecError, imgmsg_to_rgb
from rain_seg_ros.compressed import compressed_to_rgb
from rain_seg_ros.diagnostics import KindThrottle, NodeStats


class ModelLoadError(RuntimeError):
    """The configured model is missing or invalid: the node cannot start."""


@dataclass(frozen=True)
class Param:
    """One parameter: default, description and (for numbers) an inclusive range."""

    name: str
    default: Any
    description: str
    low: float | None = None
    high: float | None = None
    read_only: bool = False
    choices: tuple[str, ...] = ()

    def descriptor(self) -> ParameterDescriptor:
        text = self.description + (f" One of: {', '.join(self.choices)}." if self.choices else "")
        d = ParameterDescriptor(description=text, read_only=self.read_only)
        if self.low is not None and self.high is not None:
            if isinstance(self.default, bool) or not isinstance(self.default, int | float):
                raise TypeError(f"range on non-numeric parameter {self.name}")
            if isinstance(self.default, int):
                d.integer_range = [IntegerRange(from_value=int(self.low), to_value=int(self.high), step=0)]
            else:
                d.floating_point_range = [FloatingPointRange(from_value=float(self.low),
                                                             to_value=float(self.high), step=0.0)]
        return d

    def refusal(self, value: Any) -> str | None:
        """Why `value` is not allowed (ranges are enforced by rclpy from the descriptor)."""
        if self.choices and value not in self.choices:
            return f"{self.name}={value!r} is not one of {', '.join(self.choices)}"
        return None


# QoS of the camera subscription: sensor-data by default (best effort, keep last 5).
QOS_PARAMS = (
    Param("qos_reliability", "best_effort", "Reliability of the image subscription.",
          read_only=True, choices=("best_effort", "reliable")),
    Param("qos_depth", 5, "History depth of the image subscription.", 1, 1000, read_only=True),
    Param("output_qos_reliability", "reliable",
          "Reliability of the published images (reliable also serves best-effort subscribers).",
          read_only=True, choices=("best_effort", "reliable")),
    Param("output_qos_depth", 5, "History depth of the published images.", 1, 1000, read_only=True),
)
# Checked against the size a frame's header declares, before any pixel buffer is allocated.
DECODE_PARAMS = (
    Param("max_image_pixels", MAX_PIXELS, "Frames declaring more pixels than this are refused "
          "before decoding (bounds the memory one frame can take).", 1, MAX_PIXELS, read_only=True),
)


def declare_params(node: Node, params: tuple[Param, ...], stats: NodeStats) -> dict[str, Any]:
    """Declare every parameter; a bad override (wrong type, out of range, unknown choice) is
    logged, counted, flagged as a lasting error in the diagnostics and replaced by the default
    instead of killing the node. Later changes to an unknown choice are refused the same way.
    """
    by_name = {p.name: p for p in params}
    refused: dict[str, str] = {}

    def choices_callback(changes: list[Parameter]) -> SetParametersResult:
        # Registered before the nodes' own callbacks, so rclpy calls it last: once it accepts,
        # the change is made and a start-up refusal of that parameter is over.
        for change in changes:
            reason = by_name[change.name].refusal(change.value) if change.name in by_name else None
            if reason is not None:
                refused[change.name] = reason
                if change.name in values:  # a live change (start-up ones are counted below)
                    stats.count("bad_parameter", error=reason)
                return SetParametersResult(successful=False, reason=reason)
        for change in changes:
            stats.clear_lasting_error(change.name)
        return SetParametersResult(successful=True)

    values: dict[str, Any] = {}
    node.add_on_set_parameters_callback(choices_callback)
    for p in params:
        # rclpy types an empty list as a byte array and would refuse a string-array override
        initial = Parameter.Type.STRING_ARRAY if p.default == [] else p.default
        try:
            value = node.declare_parameter(p.name, initial, p.descriptor()).value
        except ParameterException as err:
            reason = refused.pop(p.name, None) or str(err)
            node.get_logger().error(f"parameter {p.name}: {reason}; using the default {p.default!r}")
            stats.count("bad_parameter", error=reason)
            value = node.declare_parameter(p.name, initial, p.descriptor(), ignore_override=True).value
            stats.set_lasting_error(p.name, f"{reason}; using the default {p.default!r}")
        values[p.name] = p.default if value is None else value
    return values


def decode_frame(msg: Image | CompressedImage, max_pixels: int) -> np.ndarray:
    """Image or CompressedImage -> (H, W, 3) uint8 RGB; CodecError for anything malformed."""
    if isinstance(msg, CompressedImage):
        return compressed_to_rgb(msg.format, msg.data, max_pixels)
    return imgmsg_to_rgb(msg, max_pixels)


class FrameErrors:
    """The worker's `on_error`: whatever one frame raised is counted (CodecError as bad_frame,
    anything else as processing_error) and logged once per kind, then at most every `period_s`."""

    def __init__(self, node: Node, stats: NodeStats, period_s: float = 5.0) -> None:
        self._logger = node.get_logger()
        self._stats = stats
        self._throttle = KindThrottle(period_s)

    def __call__(self, err: Exception) -> None:
        kind = type(err).__name__
        bad_input = isinstance(err, CodecError)
        self._stats.count("bad_frame" if bad_input else "processing_error", error=f"{kind}: {err}")
        held_back = self._throttle.allow(kind)
        if held_back is None:
            return
        more = f" ({held_back} more of this kind since the last report)" if held_back else ""
        if bad_input:
            self._logger.warning(f"skipping bad frame: {err}{more}")
        else:
            self._logger.error(f"frame skipped, processing raised {kind}: {err}{more}")


def qos_from_params(values: dict[str, Any], prefix: str = "") -> QoSProfile:
    reliability = values[f"{prefix}qos_reliability"]
    depth = int(values[f"{prefix}qos_depth"])
    if not prefix and reliability == "best_effort" and depth == qos_profile_sensor_data.depth:
        return qos_profile_sensor_data
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth,
                      reliability=ReliabilityPolicy.RELIABLE if reliability == "reliable"
                      else ReliabilityPolicy.BEST_EFFORT)


def _status(stats: NodeStats, name: str, hardware_id: str, state: str = "",
            extra: dict[str, str] | None = None) -> DiagnosticStatus:
    snapshot = {**stats.snapshot(), **(extra or {})}
    level = stats.level()
    message = {0: "ok", 1: f"bad input seen ({snapshot['last_error']})",
               2: f"running with refused parameters ({snapshot['lasting_errors']})"}[level]
    if state and level < 2:  # e.g. "building engine": not serving yet, but nothing is wrong
        level, message = 1, state
    return DiagnosticStatus(level=bytes([level]), name=name, hardware_id=hardware_id, message=message,
                            values=[KeyValue(key=k, value=v) for k, v in snapshot.items()])


def diagnostics_message(node: Node, stats: NodeStats, hardware_id: str, state: str = "",
                        cameras: Sequence[tuple[str, str, NodeStats]] = (),
                        extra: dict[str, str] | None = None) -> DiagnosticArray:
    """One DiagnosticArray with this node's status, named after its fully qualified name.

    Args:
        state: a passing condition reported at WARN level as the message (e.g. "building engine").
        cameras: (name, topic, stats) of each camera of a multi-camera node: one more status each,
            named "<node>: <camera>", with the topic as hardware_id.
        extra: more key/values for the node's status (e.g. the degraded figures, the active model).
    """
    fqn = node.get_fully_qualified_name()
    statuses = [_status(stats, fqn, hardware_id, state, extra)]
    statuses += [_status(cam_stats, f"{fqn}: {name}", topic) for name, topic, cam_stats in cameras]
    msg = DiagnosticArray(status=statuses)
    msg.header.stamp = node.get_clock().now().to_msg()
    return msg
