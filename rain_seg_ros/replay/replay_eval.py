"""replay_eval: play a rosbag2 through the running graph, score the masks, write a report.

    # graph already running (ros2 launch / rain_seg_bringup), recorded rate:
    replay_eval drive_bag --image-topic /camera/image_raw --gt-topic /camera/gt_mask --out runs/replay
    # start segmentation_node for the run, as fast as it keeps up, labels from a folder:
    replay_eval drive_bag --image-topic /cam/image --model m.onnx --rate 0 --gt-dir labels/ --out runs/r

Reads sqlite3 or MCAP bags with `rosbags`. Ground truth: a mono8 mask topic in the bag
(matched by header stamp) or a folder of label PNGs matched by file name (stem = the
frame's header stamp in ns, or `--gt-match order`: sorted names <-> frames in bag order).
Writes OUT/report.json, OUT/report.md, OUT/*.png and OUT/masks_bag (MCAP: input frames,
masks and colour masks, for Foxglove).

Conditions (replay/condition_metrics.py): when the bag has the true condition per frame
(--truth-condition-topic, as make-drive-bag --conditions writes it), mIoU per condition; when
the node publishes ~/condition (--condition-topic), the estimator's accuracy per frame and the
switch log; with ground truth, the temporal consistency (label flips the ground truth does not
explain). --condition-model / --models start the node with a condition estimator and a model per
condition:

    replay_eval ccn_bag --image-topic /camera/image_raw --gt-topic /camera/gt_mask --rate 0 \
        --model clear.onnx --condition-model condition.onnx --models rain:rain.onnx,night:night.onnx --out r
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from rain_seg_ros.codec import array_to_image_fields
from rain_seg_ros.labels import CITYSCAPES_CLASSES, colorize
from rain_seg_ros.replay import condition_metrics
from rain_seg_ros.replay.bag_io import COMPRESSED, MAX_TOPIC_BYTES, BagMessage, image_message, write_bag
from rain_seg_ros.replay.check_inputs import Inputs, prepare
from rain_seg_ros.replay.metrics import confusion_matrix, scores_from_confusion
from rain_seg_ros.replay.report import latency_breakdown, latency_summary, plot, write_report
from rain_seg_ros.replay.stall_watch import StallWatch


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="replay_eval", description=__doc__.split("\n")[0])
    p.add_argument("bag", type=Path, help="rosbag2 directory (sqlite3 or MCAP)")
    p.add_argument("--image-topic", required=True, help="camera topic in the bag, republished as is")
    p.add_argument("--mask-topic", default="/segmentation_node/mask", help="mask topic of the graph")
    p.add_argument("--rate", type=float, default=1.0,
                   help="recorded rate x this factor; 0 = as fast as the graph keeps up")
    gt = p.add_mutually_exclusive_group()
    gt.add_argument("--gt-topic", help="mono8 ground-truth mask topic in the bag (matched by stamp)")
    gt.add_argument("--gt-dir", type=Path, help="folder of label PNGs (train ids, 255 ignore)")
    p.add_argument("--gt-match", choices=("stamp", "order"), default="stamp",
                   help="--gt-dir matching: stem is the stamp in ns, or sorted names in frame order")
    p.add_argument("--num-classes", type=int, default=len(CITYSCAPES_CLASSES))
    p.add_argument("--out", type=Path, required=True, help="output folder for report and bag")
    p.add_argument("--model", help="start segmentation_node with this model for the run")
    p.add_argument("--backend", default="auto", help="backend for the node started with --model")
    p.add_argument("--params", type=Path, help="params file for the node started with --model")
    p.add_argument("--condition-model", help="with --model: the node's condition_model_path")
    p.add_argument("--models", help="with --model: the node's models, e.g. rain:/m/rain.onnx,night:/m/n.onnx")
    p.add_argument("--switch-hold-frames", type=int, help="with --model: the node's switch_hold_frames")
    p.add_argument("--smoothing-alpha", type=float, help="with --model: the node's smoothing_alpha")
    p.add_argument("--smoothing-reset-difference", type=float,
                   help="with --model: the node's smoothing_reset_difference")
    p.add_argument("--smoothing-flow", choices=("true", "false"),
                   help="with --model: the node's smoothing_flow")
    p.add_argument("--smoothing-keep-below", type=float, help="with --model: the node's smoothing_keep_below")
    p.add_argument("--smoothing-flow-method", help="with --model: the node's smoothing_flow_method")
    p.add_argument("--smoothing-flow-width", type=int, help="with --model: the node's smoothing_flow_width")
    p.add_argument("--condition-topic", help="the graph's ~/condition (default: next to --mask-topic)")
    p.add_argument("--truth-condition-topic", default="/ground_truth/condition",
                   help="true condition per frame in the bag (DiagnosticArray; used when present)")
    p.add_argument("--sensor-qos", action="store_true",
                   help="keep the node's best-effort camera QoS (default for --model: reliable, so that "
                        "large frames are not lost to small UDP socket buffers and every frame is scored)")
    p.add_argument("--wait-s", type=float, default=60.0, help="how long to wait for the graph")
    p.add_argument("--frame-timeout-s", type=float, default=5.0, help="--rate 0: wait per frame")
    p.add_argument("--drain-s", type=float, default=3.0, help="wait for late masks after the last frame")
    p.add_argument("--no-bag", action="store_true", help="do not write the output bag")
    p.add_argument("--all-outputs", action="store_true",
                   help="also subscribe color_mask, overlay and confidence next to the mask topic, so that "
                        "their cost shows in the latency")
    p.add_argument("--max-bag-mib", type=int, default=MAX_TOPIC_BYTES >> 20,
                   help="refuse an image topic larger than this (all its frames are held in memory)")
    p.add_argument("--debug", action="store_true", help="show the traceback of an error")
    return p


def start_graph(opts: argparse.Namespace) -> subprocess.Popen[bytes]:
    """segmentation_node in its own process (rain_seg_bringup), reading the replayed topic."""
    cmd = [sys.executable, "-m", "rain_seg_ros.nodes.bringup", "--model", opts.model,
           "--backend", opts.backend, "--camera-topic", opts.image_topic.removesuffix("/compressed")]
    if opts.image_topic.endswith("/compressed"):
        cmd.append("--compressed")
    if opts.params:
        cmd += ["--params", str(opts.params)]
    if not opts.sensor_qos:
        cmd += ["--param", "qos_reliability=reliable"]
    if opts.condition_model:
        cmd += ["--condition-model", opts.condition_model]
    if opts.models:
        cmd += ["--models", opts.models]
    node_params = {"smoothing_alpha": opts.smoothing_alpha, "switch_hold_frames": opts.switch_hold_frames,
                   "smoothing_reset_difference": opts.smoothing_reset_difference,
                   "smoothing_flow": opts.smoothing_flow, "smoothing_keep_below": opts.smoothing_keep_below,
                   "smoothing_flow_method": opts.smoothing_flow_method,
                   "smoothing_flow_width": opts.smoothing_flow_width}
    cmd += [a for k, v in node_params.items() if v is not None for a in ("--param", f"{k}={v}")]
    return subprocess.Popen(cmd, env=os.environ.copy(), start_new_session=True)


def stop_graph(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def evaluate(opts: argparse.Namespace, inputs: Inputs) -> dict[str, Any]:
    """Play the checked inputs through the graph (started here with --model) and score them."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    from rain_seg_ros.replay.player import ReplayPlayer

    frames, gt = inputs.frames, inputs.gt
    graph = start_graph(opts) if opts.model else None
    context = rclpy.Context()  # own context: callable from a process that already runs rclpy
    rclpy.init(context=context)
    base = opts.mask_topic.rsplit("/", 1)[0]
    extra = tuple(f"{base}/{name}" for name in ("color_mask", "overlay", "confidence") if opts.all_outputs)
    player = ReplayPlayer(opts.image_topic, opts.mask_topic, compressed=frames[0].msgtype == COMPRESSED,
                          extra_topics=extra, context=context,
                          condition_topic=opts.condition_topic or f"{base}/condition")
    executor = SingleThreadedExecutor(context=context)  # callbacks are short; see docs/ros.md
    executor.add_node(player)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    try:
        player.wait_for_graph(opts.wait_s, graph)
        time.sleep(0.5)  # let the reverse (mask) direction finish matching too
        player.note_node_counters()  # the node's counters before this replay (it may have run before)
        with StallWatch() as watch:
            player.play(frames, opts.rate, opts.frame_timeout_s, opts.drain_s)
        player.wait_for_fresh_diagnostics()
        collected = player.snapshot()
    finally:
        executor.shutdown()
        spinner.join(timeout=5.0)  # the spin thread must be out before its node and context go
        player.destroy_node()
        rclpy.try_shutdown(context=context)
        if graph is not None:
            stop_graph(graph)
    return score(opts, frames, collected, gt, host=watch.summary())


def score(opts: argparse.Namespace, frames: list[BagMessage], collected: Any,
          gt: dict[int, np.ndarray] | None, host: dict[str, float] | None = None) -> dict[str, Any]:
    """The report; `host`: StallWatch.summary() of this process while it played the frames."""
    stamps = [m.stamp_ns for m in frames]
    got = [s for s in stamps if s in collected.received_s]
    latencies = [(collected.received_s[s] - collected.sent_s[s]) * 1000 for s in got]
    receipts = sorted(collected.received_s[s] for s in got)
    span = receipts[-1] - receipts[0] if len(receipts) > 1 else 0.0
    report: dict[str, Any] = {
        "bag": str(opts.bag), "image_topic": opts.image_topic, "mask_topic": opts.mask_topic,
        "rate": opts.rate,
        "run": {**frame_outcomes(len(collected.sent_s), len(got), collected.node_counters()),
                "output_fps": (len(receipts) - 1) / span if span > 0 else 0.0,
                "bad_outputs": collected.bad_outputs},
        "latency_ms": latency_summary(latencies),
        "node_diagnostics": collected.node_diagnostics,
        "host_stalls": host,
        "breakdown_ms": latency_breakdown(float(np.mean(latencies)) if latencies else float("nan"),
                                          collected.node_diagnostics),
        "class_names": list(CITYSCAPES_CLASSES) if opts.num_classes == len(CITYSCAPES_CLASSES) else [],
        "ground_truth": opts.gt_topic or (str(opts.gt_dir) if opts.gt_dir else None),
    }
    if gt is not None:
        cm = np.zeros((opts.num_classes, opts.num_classes + 1), np.int64)
        with_gt = [s for s in got if s in gt]
        # A mask the size of its ground truth is scored; another size is counted (a graph that
        # resizes wrongly), not a crash after the whole replay.
        scored = [s for s in with_gt if collected.masks[s].shape == gt[s].shape]
        for s in scored:
            cm += confusion_matrix(collected.masks[s], gt[s], opts.num_classes)
        report["scores"] = {**scores_from_confusion(cm), "frames_scored": len(scored),
                            "frames_without_gt": len([s for s in stamps if s not in gt]),
                            "masks_of_wrong_size": len(with_gt) - len(scored)}
    conditions = condition_section(opts, stamps, collected, gt)
    if conditions:
        report["conditions"] = conditions
    if not opts.no_bag:
        report["output_bag"] = str(write_output_bag(opts.out / "masks_bag", frames, collected))
    names = plot(opts.out, latencies, receipts, report.get("scores", {}).get("per_class_iou"),
                 report["class_names"])
    write_report(opts.out, report, names)
    return report


def condition_section(opts: argparse.Namespace, stamps: list[int], collected: Any,
                      gt: dict[int, np.ndarray] | None) -> dict[str, Any]:
    """report["conditions"]: what the bag's true conditions and the node's ~/condition allow."""
    truth = condition_metrics.read_true_conditions(opts.bag, opts.truth_condition_topic)
    published = getattr(collected, "conditions", {})
    estimated = {s: v["condition"] for s, v in published.items() if "condition" in v}
    active = {s: v["active_model"] for s, v in published.items() if "active_model" in v}
    out: dict[str, Any] = {}
    if truth is not None:
        out["true_conditions"] = dict(sorted(Counter(truth.values()).items()))
    if truth is not None and gt is not None:
        out["per_condition_scores"] = condition_metrics.per_condition_scores(
            stamps, collected.masks, gt, truth, opts.num_classes)
    if truth is not None and estimated:
        out["estimator"] = condition_metrics.estimator_accuracy(stamps, estimated, truth)
    if active:
        out["switch_log"] = condition_metrics.switch_log(stamps, active, truth)
    if published:  # what the node said on each frame, in frame order (figures label their rows with it)
        out["published"] = [{"stamp_ns": s, "condition": published[s].get("condition"),
                             "active_model": published[s].get("active_model")}
                            for s in stamps if s in published]
    if gt is not None:
        out["temporal_consistency"] = condition_metrics.temporal_consistency(stamps, collected.masks, gt)
    return out


def frame_outcomes(sent: int, received: int, node: dict[str, int] | None) -> dict[str, Any]:
    """Where the sent frames went. `node`: the segmenter's counters over this replay (None when it
    published no diagnostics). Frames it rejected as bad (`bad_frame`) or failed on
    (`processing_error`) are not drops: they are counted apart, and drop_rate covers the rest
    (replaced by a newer frame in the node, or lost in transport)."""
    rejected = failed = 0
    if node is not None:
        rejected = min(node.get("bad_frame", 0), sent - received)
        failed = min(node.get("processing_error", 0), sent - received - rejected)
    dropped = sent - received - rejected - failed
    return {"frames_sent": sent, "masks_received": received,
            "rejected": rejected if node is not None else None,
            "processing_errors": failed if node is not None else None,
            "dropped": dropped, "drop_rate": dropped / max(sent, 1)}


def write_output_bag(path: Path, frames: list[BagMessage], collected: Any) -> Path:
    """Input frames, masks (mono8) and colour masks (rgb8) on /replay/*, stamped as recorded."""
    if path.exists():
        raise FileExistsError(f"{path} exists; choose another --out")
    recorded = {m.stamp_ns: m.timestamp_ns for m in frames}
    masks = [(s, collected.frame_ids[s], m) for s, m in collected.masks.items() if s in recorded]
    def as_image(stamp: int, frame_id: str, array: np.ndarray, encoding: str) -> Any:
        return image_message(stamp, frame_id, array_to_image_fields(array, encoding))

    return write_bag(path, {
        "/replay/image": ((m.timestamp_ns, m.msg) for m in frames),
        "/replay/mask": ((recorded[s], as_image(s, f, m, "mono8")) for s, f, m in masks),
        "/replay/color_mask": ((recorded[s], as_image(s, f, colorize(m), "rgb8")) for s, f, m in masks),
    }, storage="mcap")


def main(argv: list[str] | None = None) -> int:
    opts = build_parser().parse_args(argv)
    try:
        inputs = prepare(opts)  # every check that needs no graph, before any ROS work
        report = evaluate(opts, inputs)
    except (ValueError, TimeoutError, FileExistsError, RuntimeError) as err:
        if opts.debug:
            raise
        print(f"replay_eval: {err}", file=sys.stderr)
        return 1
    run, lat = report["run"], report["latency_ms"]
    miou = report.get("scores", {}).get("miou")
    rejected = f", {run['rejected']} rejected as bad" if run["rejected"] else ""
    print(f"replay_eval: {run['masks_received']}/{run['frames_sent']} masks{rejected}, "
          f"{run['output_fps']:.2f} FPS, "
          f"latency p50 {lat['p50']:.1f} ms p95 {lat['p95']:.1f} ms p99 {lat['p99']:.1f} ms"
          + (f", mIoU {miou:.4f}" if miou is not None else "") + f" -> {opts.out}/report.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
