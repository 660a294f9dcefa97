"""`python -m training make-drive-bag` — a short procedural drive as a rosbag2 (MCAP).

One generated street, the camera driving forward along it (training/scenes/drive.py): clear,
rainy (default) or night frames (--condition), or segments of each in turn (--conditions
clear:20,rain:20,night:20), as sensor_msgs/Image rgb8 on --image-topic, the train-id ground truth
as mono8 on --gt-topic and the true condition of each frame on --condition-topic
(diagnostic_msgs/DiagnosticArray: one status "ground_truth" whose message is the condition), all
with the same header stamps and frame_id. Same flags -> same frames.

Example:
    python -m training make-drive-bag --out /tmp/drive_bag --frames 50 --size 128x256 --seed 0 \\
        --rain-intensity 0.8 --label-dir /tmp/drive_labels
    # a night drive (same street and labels as the rainy one of the same seed), e.g. for DANNet:
    python -m training make-drive-bag --out /tmp/night_bag --frames 50 --size 128x256 --condition night
    # clear -> rain -> night, 20 frames each (the condition-switching drive):
    python -m training make-drive-bag --out /tmp/ccn_bag --size 128x256 --conditions clear:20,rain:20,night:20
    python -m rain_seg_ros.replay.replay_eval /tmp/drive_bag --image-topic /camera/image_raw \\
        --gt-topic /camera/gt_mask --model model.onnx --out /tmp/replay
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

from training.commands.generate_scenes import parse_size
from training.scenes.drive import CONDITIONS, DriveSpec, write_drive_bag


def parse_segments(text: str) -> tuple[tuple[str, int], ...]:
    """"clear:20,rain:20,night:20" -> (("clear", 20), ("rain", 20), ("night", 20))."""
    segments = []
    for item in text.split(","):
        condition, _, count = item.strip().partition(":")
        if condition not in CONDITIONS or not count.isdigit() or int(count) < 1:
            raise argparse.ArgumentTypeError(f"{item!r} is not CONDITION:FRAMES with CONDITION one of "
                                             f"{', '.join(CONDITIONS)} and FRAMES >= 1")
        segments.append((condition, int(count)))
    return tuple(segments)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training make-drive-bag", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, required=True, help="bag directory to create")
    p.add_argument("--frames", type=int, default=50)
    p.add_argument("--rate-hz", type=float, default=10.0)
    p.add_argument("--size", type=parse_size, default=(128, 256), help="HxW")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--speed", type=float, default=8.0, help="ego speed, m/s")
    p.add_argument("--rain-intensity", type=float, default=0.8)
    p.add_argument("--lens-drops", action="store_true")
    p.add_argument("--condition", choices=CONDITIONS, default="rain",
                   help="what the camera records: clear, rain (default) or night")
    p.add_argument("--conditions", type=parse_segments, default=(),
                   help="segments driven in turn, e.g. clear:20,rain:20,night:20 (sets the frame count; "
                        "overrides --condition and --frames)")
    p.add_argument("--image-topic", default="/camera/image_raw")
    p.add_argument("--gt-topic", default="/camera/gt_mask")
    p.add_argument("--condition-topic", default="/ground_truth/condition",
                   help="true condition per frame (DiagnosticArray)")
    p.add_argument("--frame-id", default="camera")
    p.add_argument("--label-dir", type=Path, help="also write the labels as <stamp_ns>.png here")
    p.add_argument("--image-dir", type=Path, help="also write the camera frames as <stamp_ns>.png here")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    args = p.parse_args(argv)
    if args.conditions:
        args.frames = sum(n for _, n in args.conditions)
    if args.frames < 1 or args.rate_hz <= 0 or not 0.0 <= args.rain_intensity <= 1.5:
        p.error("need --frames >= 1, --rate-hz > 0 and 0 <= --rain-intensity <= 1.5")
    if args.out.exists():
        if not args.overwrite:
            p.error(f"{args.out} exists (use --overwrite)")
        shutil.rmtree(args.out)
    spec = DriveSpec(height=args.size[0], width=args.size[1], frames=args.frames, rate_hz=args.rate_hz,
                     speed_mps=args.speed, rain_intensity=args.rain_intensity, lens_drops=args.lens_drops,
                     condition=args.condition, segments=args.conditions)
    start = time.perf_counter()
    write_drive_bag(args.out, args.seed, spec, image_topic=args.image_topic, gt_topic=args.gt_topic,
                    condition_topic=args.condition_topic, frame_id=args.frame_id, label_dir=args.label_dir,
                    image_dir=args.image_dir, progress=True)
    print(json.dumps({"out": str(args.out), "frames": args.frames, "size": list(args.size),
                      "condition": args.condition if not args.conditions else
                      ",".join(f"{c}:{n}" for c, n in args.conditions),
                      "image_topic": args.image_topic, "gt_topic": args.gt_topic,
                      "seconds": round(time.perf_counter() - start, 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
