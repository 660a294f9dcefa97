"""Play bag frames into a running graph over DDS and collect the masks that come back.

The player is an rclpy node: it publishes each frame (header stamp kept) on the camera
topic and subscribes the mask topic; a frame and its mask are matched by header stamp.
Latency is measured on this process's monotonic clock from publish to mask receipt, so it
includes transport both ways plus everything the graph does.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header
from tqdm import tqdm

from rain_seg_ros.codec import CodecError, image_to_array
from rain_seg_ros.diagnostics import COUNTERS
from rain_seg_ros.replay.bag_io import COMPRESSED, BagMessage

RELIABLE = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=50, reliability=ReliabilityPolicy.RELIABLE)


@dataclass
class Collected:
    sent_s: dict[int, float] = field(default_factory=dict)          # stamp_ns -> publish time
    received_s: dict[int, float] = field(default_factory=dict)      # stamp_ns -> mask receipt time
    masks: dict[int, np.ndarray] = field(default_factory=dict)      # stamp_ns -> (H, W) uint8
    frame_ids: dict[int, str] = field(default_factory=dict)
    bad_outputs: int = 0
    node_diagnostics: dict[str, str] = field(default_factory=dict)  # last status of the segmenter
    node_baseline: dict[str, str] = field(default_factory=dict)     # its status before the replay
    conditions: dict[int, dict[str, str]] = field(default_factory=dict)  # stamp_ns -> ~/condition values

    def node_counters(self) -> dict[str, int] | None:
        """The segmenter's counters (received, dropped, bad_frame, ...) over this replay: last
        diagnostics minus those before it; None when the node published no diagnostics."""
        if not self.node_diagnostics:
            return None
        out = {}
        for key in COUNTERS:
            try:
                out[key] = int(self.node_diagnostics.get(key, "0")) - int(self.node_baseline.get(key, "0"))
            except ValueError:
                continue
        return out


def to_ros(message: BagMessage) -> Image | CompressedImage:
    """rosbags message -> rclpy message with the same header and payload."""
    src = message.msg
    header = Header(stamp=Time(sec=int(src.header.stamp.sec), nanosec=int(src.header.stamp.nanosec)),
                    frame_id=str(src.header.frame_id))
    data = np.asarray(src.data, dtype=np.uint8).tobytes()
    if message.msgtype == COMPRESSED:
        return CompressedImage(header=header, format=str(src.format), data=data)
    return Image(header=header, height=int(src.height), width=int(src.width), encoding=str(src.encoding),
                 is_bigendian=int(src.is_bigendian), step=int(src.step), data=data)


class ReplayPlayer(Node):
    def __init__(self, image_topic: str, mask_topic: str, compressed: bool,
                 extra_topics: tuple[str, ...] = (), condition_topic: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__("replay_eval", **kwargs)
        self.collected = Collected()
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._diagnostics_s = -1.0
        self.pub = self.create_publisher(CompressedImage if compressed else Image, image_topic, RELIABLE)
        self.sub = self.create_subscription(Image, mask_topic, self.mask_callback, RELIABLE)
        # Subscribed only so that the node computes and publishes them (it skips unwatched outputs).
        self.extra_subs = [self.create_subscription(Image, topic, lambda _msg: None, RELIABLE)
                           for topic in extra_topics]
        self.condition_sub = (None if condition_topic is None else self.create_subscription(
            DiagnosticArray, condition_topic, self.condition_callback, RELIABLE))
        self.diag_sub = self.create_subscription(DiagnosticArray, "/diagnostics", self.diagnostics_callback,
                                                 10)

    def mask_callback(self, msg: Image) -> None:
        now = time.monotonic()
        stamp = int(msg.header.stamp.sec) * 1_000_000_000 + int(msg.header.stamp.nanosec)
        try:
            mask = image_to_array(msg)
        except CodecError:
            mask = None
        with self._arrived:
            if mask is None or mask.ndim != 2:
                self.collected.bad_outputs += 1
                return
            self.collected.received_s.setdefault(stamp, now)
            self.collected.masks[stamp] = mask
            self.collected.frame_ids[stamp] = msg.header.frame_id
            self._arrived.notify_all()

    def condition_callback(self, msg: DiagnosticArray) -> None:
        """segmentation_node's ~/condition: the estimate and the active model of one frame."""
        stamp = int(msg.header.stamp.sec) * 1_000_000_000 + int(msg.header.stamp.nanosec)
        if msg.status:
            with self._lock:
                self.collected.conditions[stamp] = {kv.key: kv.value for kv in msg.status[0].values}

    def diagnostics_callback(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            if "segmentation_node" in status.name:
                with self._arrived:
                    self.collected.node_diagnostics = {kv.key: kv.value for kv in status.values}
                    self._diagnostics_s = time.monotonic()
                    self._arrived.notify_all()

    def wait_for_graph(self, timeout_s: float, graph: Any = None) -> None:
        """Block until the graph subscribes our frames and publishes masks (DDS discovery).
        `graph`: the Popen of a graph we started, so that its early death is reported at once."""
        deadline = time.monotonic() + timeout_s
        while self.pub.get_subscription_count() == 0 or self.sub.get_publisher_count() == 0:
            if graph is not None and graph.poll() is not None:
                raise RuntimeError(f"the graph process exited with code {graph.returncode} (log above)")
            if time.monotonic() > deadline:
                raise TimeoutError(f"no graph on {self.pub.topic_name} -> {self.sub.topic_name} "
                                   f"after {timeout_s:.0f} s (is segmentation_node running?)")
            time.sleep(0.05)

    def play(self, frames: list[BagMessage], rate: float, frame_timeout_s: float, drain_s: float) -> None:
        """Publish frames at recorded rate x `rate`, or (rate <= 0) each one after the previous
        frame's mask came back (or `frame_timeout_s` passed); then wait `drain_s` for stragglers."""
        start, t0 = time.monotonic(), frames[0].timestamp_ns
        for message in tqdm(frames, desc="replay", unit="frame", leave=False):
            if rate > 0:
                delay = start + (message.timestamp_ns - t0) / 1e9 / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            ros_msg = to_ros(message)
            with self._lock:
                self.collected.sent_s[message.stamp_ns] = time.monotonic()
            self.pub.publish(ros_msg)
            if rate <= 0:
                self._wait_for_mask(message.stamp_ns, frame_timeout_s)
        deadline = time.monotonic() + drain_s
        with self._arrived:
            while time.monotonic() < deadline:
                if all(s in self.collected.received_s for s in self.collected.sent_s):
                    break
                self._arrived.wait(timeout=max(0.0, deadline - time.monotonic()))

    def _wait_for_mask(self, stamp_ns: int, timeout_s: float) -> None:
        with self._arrived:
            self._arrived.wait_for(lambda: stamp_ns in self.collected.received_s, timeout=timeout_s)

    def note_node_counters(self) -> None:
        """Keep the node's current diagnostics as the baseline of this replay's counts."""
        self.wait_for_fresh_diagnostics()
        with self._lock:
            self.collected.node_baseline = dict(self.collected.node_diagnostics)

    def wait_for_fresh_diagnostics(self, timeout_s: float = 1.5) -> None:
        """The node reports at 1 Hz: wait for a report that covers the whole replay."""
        since = time.monotonic()
        with self._arrived:
            self._arrived.wait_for(lambda: self._diagnostics_s > since, timeout=timeout_s)

    def snapshot(self) -> Any:
        with self._lock:
            return self.collected
