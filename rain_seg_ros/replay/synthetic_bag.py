"""Write a synthetic camera rosbag2 (smooth moving colour fields), e.g. to benchmark the graph.

    python -m rain_seg_ros.replay.synthetic_bag runs/bench_bag --size 512x1024 --frames 60 --rate-hz 10

No ground truth: use it for latency/throughput (replay_eval without --gt-*). Frames are rgb8
unless --encoding says otherwise; --storage mcap (default) or sqlite3.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from rosbags.rosbag2 import WriterError
from tqdm import tqdm

from rain_seg_ros.codec import ENCODINGS, CodecError, rgb_to_image_fields
from rain_seg_ros.replay.bag_io import image_message, write_bag


def frame(index: int, height: int, width: int) -> np.ndarray:
    """(H, W, 3) uint8: three sinusoidal colour fields drifting with the frame index."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    phase = index * 0.2
    channels = [np.sin(x / (37 + 11 * c) + y / (53 - 7 * c) + phase * (c + 1)) for c in range(3)]
    return ((np.stack(channels, axis=-1) * 0.5 + 0.5) * 255).astype(np.uint8)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="synthetic_bag", description=__doc__.split("\n")[0])
    p.add_argument("out", type=Path, help="bag directory to create")
    p.add_argument("--size", default="512x1024", help="HxW")
    p.add_argument("--frames", type=int, default=60)
    p.add_argument("--rate-hz", type=float, default=10.0)
    p.add_argument("--topic", default="/camera/image")
    p.add_argument("--encoding", default="rgb8", choices=sorted(ENCODINGS))
    p.add_argument("--storage", default="mcap", choices=("mcap", "sqlite3"))
    opts = p.parse_args(argv)
    height, width = (int(v) for v in opts.size.lower().split("x"))
    t0 = 1_700_000_000_000_000_000
    period = int(1e9 / opts.rate_hz)

    def messages():
        for i in tqdm(range(opts.frames), desc="frames", unit="frame"):
            stamp = t0 + i * period
            fields = rgb_to_image_fields(frame(i, height, width), opts.encoding)
            yield stamp, image_message(stamp, "camera", fields)

    try:
        write_bag(opts.out, {opts.topic: messages()}, storage=opts.storage)
    except (CodecError, WriterError) as err:
        print(f"synthetic_bag: {err}", file=sys.stderr)
        return 1
    print(f"wrote {opts.frames} frames {width}x{height} {opts.encoding} on {opts.topic} to {opts.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
