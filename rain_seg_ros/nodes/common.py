"""Pieces both nodes share: described parameters, QoS from parameters, diagnostics messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.exceptions import ParameterException
from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data

from rain_seg_ros.diagnostics import NodeStats


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


def declare_params(node: Node, params: tuple[Param, ...], stats: NodeStats) -> dict[str, Any]:
    """Declare every parameter; a bad override (wrong type, out of range, unknown choice) is
    logged, counted and replaced by the default instead of killing the node."""
    values: dict[str, Any] = {}
    for p in params:
        try:
            value = node.declare_parameter(p.name, p.default, p.descriptor()).value
        except ParameterException as err:
            node.get_logger().error(f"parameter {p.name}: {err}; using default {p.default!r}")
            stats.count("bad_parameter", error=str(err))
            value = node.declare_parameter(p.name, p.default, p.descriptor(), ignore_override=True).value
        if p.choices and value not in p.choices:
            node.get_logger().error(f"parameter {p.name}={value!r} is not one of {p.choices}; "
                                    f"using default {p.default!r}")
            stats.count("bad_parameter", error=f"{p.name}={value!r}")
            value = p.default
        values[p.name] = value
    return values


def qos_from_params(values: dict[str, Any], prefix: str = "") -> QoSProfile:
    reliability = values[f"{prefix}qos_reliability"]
    depth = int(values[f"{prefix}qos_depth"])
    if not prefix and reliability == "best_effort" and depth == qos_profile_sensor_data.depth:
        return qos_profile_sensor_data
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth,
                      reliability=ReliabilityPolicy.RELIABLE if reliability == "reliable"
                      else ReliabilityPolicy.BEST_EFFORT)


def diagnostics_message(node: Node, stats: NodeStats, hardware_id: str) -> DiagnosticArray:
    """One DiagnosticArray with this node's status, named after its fully qualified name."""
    snapshot = stats.snapshot()
    level = stats.level()
    status = DiagnosticStatus(
        level=bytes([level]), name=node.get_fully_qualified_name(), hardware_id=hardware_id,
        message="ok" if level == 0 else f"bad input seen ({snapshot['last_error']})",
        values=[KeyValue(key=k, value=v) for k, v in snapshot.items()])
    msg = DiagnosticArray(status=[status])
    msg.header.stamp = node.get_clock().now().to_msg()
    return msg
