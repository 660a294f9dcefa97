"""What replay_eval checks before it starts a ROS graph: the bag reads, its topics have the
right types, the ground truth decodes to masks of the frames' size, and --out can take the
report. Each failure is an InputError (or BagError) with one line saying what to fix, so a
bad input fails in seconds instead of after a whole replay.

    inputs = prepare(opts)       # frames, ground truth by stamp; raises before any ROS work
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from rain_seg_ros.codec import CodecError, image_to_array
from rain_seg_ros.compressed import compressed_to_rgb
from rain_seg_ros.replay.bag_io import COMPRESSED, IMAGE, BagMessage, bag_topics, read_topic

GT_ENCODINGS = ("mono8", "8uc1")


class InputError(ValueError):
    """A replay_eval option or input that cannot work; the message is one line for the user."""


@dataclass
class Inputs:
    frames: list[BagMessage]
    gt: dict[int, np.ndarray] | None   # stamp_ns -> (H, W) uint8 train ids; None: not scored


def check_topics(bag: Path, image_topic: str, gt_topic: str | None) -> None:
    topics = bag_topics(bag)
    for option, topic, wanted in (("--image-topic", image_topic, (IMAGE, COMPRESSED)),
                                  ("--gt-topic", gt_topic, (IMAGE,))):
        if topic is None:
            continue
        if topic not in topics:
            raise InputError(f"{option} {topic}: not in {bag}; it has {sorted(topics)}")
        if topics[topic] not in wanted:
            raise InputError(f"{option} {topic}: is {topics[topic]} in {bag}; replay_eval needs "
                             f"{' or '.join(wanted)}")


def gt_mask(message: BagMessage, topic: str) -> np.ndarray:
    """A ground-truth Image -> (H, W) uint8, or InputError naming the topic and the stamp."""
    msg = message.msg
    encoding = str(msg.encoding).lower()
    if encoding not in GT_ENCODINGS:
        raise InputError(f"--gt-topic {topic}: encoding {msg.encoding!r} at stamp {message.stamp_ns}; "
                         "ground truth must be mono8 (or 8UC1) train ids, 255 = ignore")
    try:
        mask = image_to_array(msg)
    except CodecError as err:
        raise InputError(f"--gt-topic {topic}: message at stamp {message.stamp_ns} does not decode "
                         f"({err})") from None
    return mask


def check_out(out: Path, write_bag: bool) -> None:
    """--out is (or becomes) a writable folder, and the output bag would not overwrite one."""
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: is an existing file; give a folder (created if missing)")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as err:
        raise InputError(f"--out {out}: cannot write there ({err.strerror or err}); "
                         "choose a writable folder") from None
    if write_bag and (out / "masks_bag").exists():
        raise InputError(f"--out {out}: masks_bag exists from an earlier run; choose another --out "
                         "or pass --no-bag")


def frame_shape(message: BagMessage) -> tuple[int, int] | None:
    """(H, W) of a frame: from the Image fields, or by decoding a CompressedImage (None if it fails:
    the node will reject that frame and the report counts it)."""
    if message.msgtype == IMAGE:
        return int(message.msg.height), int(message.msg.width)
    try:
        return compressed_to_rgb(str(message.msg.format), message.msg.data).shape[:2]
    except CodecError:
        return None


def load_ground_truth(opts: argparse.Namespace, frames: list[BagMessage]) -> dict[int, np.ndarray] | None:
    """stamp_ns -> (H, W) uint8 train ids, or None when no ground truth was given."""
    if opts.gt_topic:
        out = {m.stamp_ns: gt_mask(m, opts.gt_topic) for m in read_topic(opts.bag, opts.gt_topic)}
        source = f"--gt-topic {opts.gt_topic}"
    elif opts.gt_dir is not None:
        out = read_label_dir(opts.gt_dir, opts.gt_match, frames)
        source = f"--gt-dir {opts.gt_dir}"
    else:
        return None
    if not out.keys() & {m.stamp_ns for m in frames}:
        raise InputError(f"{source}: no ground truth matches a frame of {opts.image_topic} by header stamp; "
                         "check the topics (or use --gt-match order for a label folder)")
    shape = frame_shape(frames[0])
    for stamp, mask in out.items():
        check_gt_size(mask, shape, source, stamp)
    return out


def check_gt_size(mask: np.ndarray, shape: tuple[int, int] | None, source: str, stamp: int) -> None:
    if shape is not None and mask.shape != shape:
        raise InputError(f"{source}: ground truth at stamp {stamp} is {mask.shape[1]}x{mask.shape[0]}, "
                         f"frames are {shape[1]}x{shape[0]}; masks must have the camera's size")


def read_label_dir(folder: Path, match: str, frames: list[BagMessage]) -> dict[int, np.ndarray]:
    if not folder.is_dir():
        raise InputError(f"--gt-dir {folder}: not a folder; give the folder of label PNGs")
    files = sorted(folder.glob("*.png"))
    pairs: list[tuple[int, Path]]
    if match == "order":
        pairs = list(zip((m.stamp_ns for m in frames), files))
    else:
        by_stem = {f.stem: f for f in files}
        pairs = [(m.stamp_ns, by_stem[str(m.stamp_ns)]) for m in frames if str(m.stamp_ns) in by_stem]
    out = {}
    for stamp, path in pairs:
        label = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if label is None or label.ndim != 2 or label.dtype != np.uint8:
            raise InputError(f"--gt-dir: {path} is not a single-channel 8-bit label PNG")
        out[stamp] = label
    return out


def first_message(bag: Path, option: str, topic: str) -> BagMessage:
    messages = read_topic(bag, topic, limit=1)
    if not messages:
        raise InputError(f"{option} {topic}: no messages in {bag}")
    return messages[0]


def prepare(opts: argparse.Namespace) -> Inputs:
    """All checks that need no ROS graph, cheapest first; returns the frames and ground truth."""
    check_topics(opts.bag, opts.image_topic, opts.gt_topic)
    # First messages only: a wrong topic fails before every frame is read or --out is created.
    first_frame = first_message(opts.bag, "--image-topic", opts.image_topic)
    if opts.gt_topic:
        first_gt = first_message(opts.bag, "--gt-topic", opts.gt_topic)
        mask = gt_mask(first_gt, opts.gt_topic)
        check_gt_size(mask, frame_shape(first_frame), f"--gt-topic {opts.gt_topic}", first_gt.stamp_ns)
    check_out(opts.out, write_bag=not opts.no_bag)
    frames = read_topic(opts.bag, opts.image_topic, max_bytes=opts.max_bag_mib << 20)
    if len({m.stamp_ns for m in frames}) != len(frames):
        raise InputError(f"--image-topic {opts.image_topic}: frames share header stamps, so masks could "
                         "not be matched to frames; re-record with unique stamps")
    return Inputs(frames, load_ground_truth(opts, frames))
