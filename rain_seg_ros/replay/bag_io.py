"""rosbag2 reading and writing with `rosbags` (sqlite3 and MCAP; no ROS install needed).

    frames = read_topic("drive_bag", "/camera/image_raw")      # [BagMessage(...), ...]
    write_bag("out_bag", {"/mask": [(stamp_ns, "cam", fields), ...]}, storage="mcap")

Bags come from users: a file that rosbags cannot read (cut recording, missing metadata.yaml,
corrupt chunk) raises BagError with one line saying what to do, and memory stays bounded
(per message, per decompressed chunk and per topic). rosbags parses metadata.yaml with a safe
YAML loader and messages with its own CDR reader: nothing in a bag can execute code.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rosbags.highlevel import AnyReader, AnyReaderError
from rosbags.rosbag2 import ReaderError, StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore

from rain_seg_ros.codec import ImageFields
from rain_seg_ros.replay import bounded_decompress

TYPESTORE = get_typestore(Stores.LATEST)
IMAGE = "sensor_msgs/msg/Image"
COMPRESSED = "sensor_msgs/msg/CompressedImage"
MAX_MESSAGE_BYTES = 256 * 1024 * 1024   # one serialised message: an 8K 16-bit RGB frame is ~200 MB
MAX_TOPIC_BYTES = 4 * 1024 ** 3         # all frames of one topic are held in memory for the replay
# What rosbags and its decoders raise on files that are cut, corrupt or not bags at all.
UNREADABLE = (AnyReaderError, ReaderError, OSError, EOFError, struct.error, ValueError, IndexError,
              KeyError, UnicodeDecodeError, MemoryError)

bounded_decompress.install(chunk_limit=4 * MAX_MESSAGE_BYTES, message_limit=MAX_MESSAGE_BYTES,
                           file_limit=4 * MAX_TOPIC_BYTES)


class BagError(ValueError):
    """A bag replay_eval cannot use; the message is one line for the user."""


@dataclass
class BagMessage:
    timestamp_ns: int   # when it was recorded (the bag's clock)
    stamp_ns: int       # header.stamp of the message
    msgtype: str
    msg: Any            # rosbags message object (fields like the rclpy message)


def stamp_to_ns(stamp: Any) -> int:
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def _unreadable(bag: str | Path, err: BaseException) -> BagError:
    reason = " ".join(str(err).split()) or type(err).__name__
    return BagError(f"{bag}: cannot read ({reason[:200]}); is the recording complete? "
                    "re-index it with `ros2 bag reindex` or re-record")


@contextmanager
def open_bag(bag: str | Path) -> Iterator[AnyReader]:
    """AnyReader on `bag`; any failure to read it (also while iterating) becomes a BagError."""
    path = Path(bag)
    if not path.exists():
        raise BagError(f"{bag}: no such bag; give the rosbag2 folder (the one holding metadata.yaml)")
    if path.is_dir() and not (path / "metadata.yaml").is_file():
        raise _unreadable(bag, FileNotFoundError("no metadata.yaml"))
    try:
        with AnyReader([path], default_typestore=TYPESTORE) as reader:
            yield reader
    except BagError:
        raise
    except UNREADABLE as err:
        raise _unreadable(bag, err) from err


def bag_topics(bag: str | Path) -> dict[str, str]:
    """topic -> message type of every topic in the bag."""
    with open_bag(bag) as reader:
        return {c.topic: c.msgtype for c in reader.connections}


def read_topic(bag: str | Path, topic: str, limit: int | None = None,
               max_bytes: int = MAX_TOPIC_BYTES) -> list[BagMessage]:
    """Messages of one topic in recording order (the first `limit` of them, or all).

    Raises BagError when the bag is unreadable, the topic is missing, or the messages exceed
    MAX_MESSAGE_BYTES each or `max_bytes` together."""
    with open_bag(bag) as reader:
        connections = [c for c in reader.connections if c.topic == topic]
        if not connections:
            topics = sorted({c.topic for c in reader.connections})
            raise BagError(f"topic {topic!r} not in {bag}; it has {topics}")
        out: list[BagMessage] = []
        total = 0
        for connection, timestamp, raw in reader.messages(connections=connections):
            total += len(raw)
            if len(raw) > MAX_MESSAGE_BYTES:
                raise BagError(f"{bag}: a message on {topic} has {len(raw)} bytes "
                               f"(limit {MAX_MESSAGE_BYTES}); is the bag corrupt?")
            if total > max_bytes:
                raise BagError(f"{bag}: {topic} holds more than {max_bytes >> 20} MiB; replay a shorter "
                               "bag (`ros2 bag convert` can cut one) or raise the limit")
            msg: Any = reader.deserialize(raw, connection.msgtype)
            out.append(BagMessage(timestamp, stamp_to_ns(msg.header.stamp), connection.msgtype, msg))
            if limit is not None and len(out) >= limit:
                break
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


def condition_message(stamp_ns: int, frame_id: str, condition: str, values: dict[str, str]) -> Any:
    """The true condition of a frame: a DiagnosticArray with the frame's header and one status
    named "ground_truth" whose message and `condition` value are the condition."""
    types = TYPESTORE.types
    pairs = [types["diagnostic_msgs/msg/KeyValue"](key=k, value=v)
             for k, v in {"condition": condition, **values}.items()]
    status = types["diagnostic_msgs/msg/DiagnosticStatus"](level=0, name="ground_truth", message=condition,
                                                            hardware_id=frame_id, values=pairs)
    return types["diagnostic_msgs/msg/DiagnosticArray"](header=_header(stamp_ns, frame_id), status=[status])


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
