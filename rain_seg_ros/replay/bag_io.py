"""rosbag2 reading and writing with `rosbags` (sqlite3 and MCAP; no ROS install needed).

    frames = read_topic("drive_bag", "/camera/image_raw")      # [BagMessage(...), ...]
    write_bag("out_bag", {"/mask": [(stamp_ns, "cam", fields), ...]}, storage="mcap")
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rosbags.highlevel import AnyReader
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore

from rain_seg_ros.codec import ImageFields

TYPESTORE = get_typestore(Stores.LATEST)
IMAGE = "sensor_msgs/msg/Image"
COMPRESSED = "sensor_msgs/msg/CompressedImage"


@dataclass
class BagMessage:
    timestamp_ns: int   # when it was recorded (the bag's clock)
    stamp_ns: int       # header.stamp of the message
    msgtype: str
    msg: Any            # rosbags message object (fields like the rclpy message)


def stamp_to_ns(stamp: Any) -> int:
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def read_topic(bag: str | Path, topic: str) -> list[BagMessage]:
    """All messages of one topic, in recording order."""
    with AnyReader([Path(bag)], default_typestore=TYPESTORE) as reader:
        connections = [c for c in reader.connections if c.topic == topic]
        if not connections:
            topics = sorted({c.topic for c in reader.connections})
            raise ValueError(f"topic {topic!r} not in {bag}; it has {topics}")
        out = []
        for connection, timestamp, raw in reader.messages(connections=connections):
            msg: Any = reader.deserialize(raw, connection.msgtype)
            out.append(BagMessage(timestamp, stamp_to_ns(msg.header.stamp), connection.msgtype, msg))
    return out


def _header(stamp_ns: int, frame_id: str) -> Any:
    types = TYPESTORE.types
    sec, nanosec = divmod(stamp_ns, 1_000_000_000)
    stamp = types["builtin_interfaces/msg/Time"](sec=sec, nanosec=nanosec)
    return types["std_msgs/msg/Header"](stamp=stamp, frame_id=frame_id)


def image_message(stamp_ns: int, frame_id: str, fields: ImageFields) -> Any:
    return TYPESTORE.types[IMAGE](
        header=_header(stamp_ns, frame_id), height=fields.height, width=fields.width,
        encoding=fields.encoding, is_bigendian=fields.is_bigendian, step=fields.step,
        data=np.frombuffer(fields.data, np.uint8))


def compressed_message(stamp_ns: int, frame_id: str, fmt: str, data: bytes) -> Any:
    return TYPESTORE.types[COMPRESSED](header=_header(stamp_ns, frame_id), format=fmt,
                                       data=np.frombuffer(data, np.uint8))


def write_bag(path: str | Path, topics: dict[str, Iterable[tuple[int, Any]]], storage: str = "mcap") -> Path:
    """Write a rosbag2 directory; `topics` maps a topic to (timestamp_ns, rosbags message) pairs."""
    plugin = StoragePlugin.MCAP if storage == "mcap" else StoragePlugin.SQLITE3
    path = Path(path)
    with Writer(path, version=9, storage_plugin=plugin) as writer:
        for topic, messages in topics.items():
            connection = None
            for timestamp, msg in messages:
                if connection is None:
                    connection = writer.add_connection(topic, msg.__msgtype__, typestore=TYPESTORE)
                writer.write(connection, timestamp, TYPESTORE.serialize_cdr(msg, msg.__msgtype__))
    return path
