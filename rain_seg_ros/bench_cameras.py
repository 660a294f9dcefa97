"""`python -m rain_seg_ros.bench_cameras`: N cameras through ONE segmentation_node vs one node per camera.

For each camera count and layout, it starts (all in their own processes, DDS on loopback with
ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST and a ROS_DOMAIN_ID of its own):
  publisher   one process sending every camera's frame (rgb8, random pixels) at --rate-hz,
              stamped at publication, like cameras triggered together
  one-node    one segmentation_node with camera_topics = all cameras (batched inference)
  per-camera  one segmentation_node process per camera
and measures, here, every ~/mask that comes back during --duration-s: aggregate masks per
second, and latency (publisher stamp -> mask receipt) p50/p95. Camera and node queues are
reliable (best-effort loses large frames with default FastDDS settings, docs/ros.md).
Without --model it writes a tiny random-weight, dynamic-batch ONNX segmenter (3x3 convs,
19 classes) at --size; the table says which model ran.

Example:
    python -m rain_seg_ros.bench_cameras --cameras 1 2 4 --size 256x512 --rate-hz 10 \
        --duration-s 20 --out-dir docs/benchmarks --name cameras
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

LAYOUTS = ("one-node", "per-camera")
NAMESPACE = "/bench_cameras"


def write_tiny_segmenter(path: Path, height: int, width: int, seed: int = 0) -> Path:
    """Random-weight dynamic-batch segmenter: conv3x3/2 -> relu -> conv3x3 -> relu -> conv1x1 -> x2 resize."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from rain_seg_ros.artifact import Artifact, TensorSpec, write_artifact
    from rain_seg_ros.labels import CITYSCAPES_CLASSES, CITYSCAPES_PALETTE, IMAGENET_MEAN, IMAGENET_STD

    rng = np.random.default_rng(seed)
    classes = len(CITYSCAPES_CLASSES)
    weights = {"w1": rng.normal(size=(16, 3, 3, 3)), "w2": rng.normal(size=(16, 16, 3, 3)) * 0.2,
               "w3": rng.normal(size=(classes, 16, 1, 1)), "scales": np.array([1, 1, 2, 2])}
    nodes = [helper.make_node("Conv", ["image", "w1"], ["c1"], pads=[1, 1, 1, 1], strides=[2, 2]),
             helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("Conv", ["r1", "w2"], ["c2"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c2"], ["r2"]),
             helper.make_node("Conv", ["r2", "w3"], ["low"]),
             helper.make_node("Resize", ["low", "", "scales"], ["logits"], mode="linear")]
    graph = helper.make_graph(
        nodes, "tiny_segmenter",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, height, width])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", classes, height, width])],
        initializer=[numpy_helper.from_array(v.astype(np.float32), k) for k, v in weights.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    write_artifact(Artifact(
        task="segmentation", inputs=[TensorSpec("image", ["batch", 3, height, width])],
        outputs=[TensorSpec("logits", ["batch", classes, height, width])], input_size=(height, width),
        mean=IMAGENET_MEAN, std=IMAGENET_STD, class_names=list(CITYSCAPES_CLASSES),
        palette=[(int(r), int(g), int(b)) for r, g, b in CITYSCAPES_PALETTE], ignore_index=255,
        extra={"random_weights": True}), path)
    return path


def run_publisher(cameras: int, height: int, width: int, rate_hz: float) -> int:
    """Publisher process: every 1/rate_hz s one frame per camera, stamped when published."""
    import rclpy
    import rclpy.executors
    from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image

    from rain_seg_ros.codec import fill_image_msg, rgb_to_image_fields

    rclpy.init()
    node = rclpy.create_node("bench_camera_publisher")
    qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=5, reliability=ReliabilityPolicy.RELIABLE)
    rng = np.random.default_rng(1)
    pubs, msgs = [], []
    for k in range(cameras):
        pubs.append(node.create_publisher(Image, camera_topic(k), qos))
        msg = fill_image_msg(Image(), rgb_to_image_fields(rng.integers(0, 256, (height, width, 3), np.uint8)))
        msg.header.frame_id = f"cam{k}"
        msgs.append(msg)

    def tick() -> None:
        for pub, msg in zip(pubs, msgs):
            msg.header.stamp = node.get_clock().now().to_msg()
            pub.publish(msg)

    node.create_timer(1.0 / rate_hz, tick)
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, rclpy.executors.ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


def camera_topic(k: int) -> str:
    return f"{NAMESPACE}/cam{k}/image_raw"


def node_commands(layout: str, cameras: int, model: Path) -> tuple[list[list[str]], list[str]]:
    """(segmentation_node command lines, the mask topics they will publish)."""
    base = [sys.executable, "-m", "rain_seg_ros.nodes.segmentation_node", "--ros-args",
            "-p", f"model_path:={model}", "-p", "backend:=onnxruntime", "-p", "device:=cpu",
            "-p", "qos_reliability:=reliable", "-p", "outputs:=[mask]"]
    if layout == "one-node":
        topics = ", ".join(camera_topic(k) for k in range(cameras))
        names = ", ".join(f"cam{k}" for k in range(cameras))
        cmd = [*base, "-r", f"__ns:={NAMESPACE}", "-p", f"camera_topics:=[{topics}]",
               "-p", f"camera_names:=[{names}]"]
        return [cmd], [f"{NAMESPACE}/segmentation_node/cam{k}/mask" for k in range(cameras)]
    cmds = [[*base, "-r", f"__ns:={NAMESPACE}/cam{k}", "-r", f"image:={camera_topic(k)}"]
            for k in range(cameras)]
    return cmds, [f"{NAMESPACE}/cam{k}/segmentation_node/mask" for k in range(cameras)]


class MaskMeter:
    """Subscribes the mask topics; while `measuring`, records receipt - stamp latencies (ms)."""

    def __init__(self, context: Any, topics: list[str]) -> None:
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.node import Node
        from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import Image

        self.node = Node("bench_cameras_meter", context=context)
        self.latencies_ms: list[float] = []
        self.seen: set[str] = set()
        self.measuring = False
        qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=10, reliability=ReliabilityPolicy.RELIABLE)
        self._subs = [self.node.create_subscription(Image, t, lambda m, t=t: self._callback(t, m), qos)
                      for t in topics]
        self.executor = SingleThreadedExecutor(context=context)
        self.executor.add_node(self.node)
        self._thread = threading.Thread(target=self.executor.spin, daemon=True)
        self._thread.start()

    def _callback(self, topic: str, msg: Any) -> None:
        now_ns = self.node.get_clock().now().nanoseconds
        self.seen.add(topic)
        if self.measuring:
            stamp_ns = msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec
            self.latencies_ms.append((now_ns - stamp_ns) / 1e6)

    def close(self) -> None:
        self.executor.shutdown()
        self._thread.join(timeout=5.0)
        self.node.destroy_node()


def stop(procs: list[subprocess.Popen]) -> None:
    """SIGINT (the nodes shut down cleanly), then SIGKILL what is left after 10 s."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(2)
    for proc in procs:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def measure(layout: str, cameras: int, model: Path, size: tuple[int, int], rate_hz: float,
            duration_s: float, warmup_s: float, env: dict[str, str], log: Path) -> dict[str, Any]:
    import rclpy

    cmds, topics = node_commands(layout, cameras, model)
    context = rclpy.Context()
    rclpy.init(context=context)
    meter = MaskMeter(context, topics)
    procs: list[subprocess.Popen] = []
    with log.open("a") as out:
        try:
            procs = [subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT) for cmd in cmds]
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "rain_seg_ros.bench_cameras", "--publisher", "--cameras", str(cameras),
                 "--size", f"{size[0]}x{size[1]}", "--rate-hz", str(rate_hz)],
                env=env, stdout=out, stderr=subprocess.STDOUT))
            deadline = time.monotonic() + 120
            while len(meter.seen) < len(topics):  # every camera answers: all processes are up
                if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                    raise RuntimeError(f"{layout} with {cameras} camera(s) did not start; see {log}")
                time.sleep(0.1)
            time.sleep(warmup_s)
            meter.measuring = True
            time.sleep(duration_s)
            meter.measuring = False
        finally:
            stop(procs)
            meter.close()
            rclpy.try_shutdown(context=context)
    lat = np.asarray(meter.latencies_ms)
    p50, p95 = (float(v) for v in np.percentile(lat, [50, 95])) if lat.size else (float("nan"),) * 2
    return {"cameras": cameras, "layout": layout, "processes": len(cmds), "offered_fps": cameras * rate_hz,
            "masks": int(lat.size), "fps": lat.size / duration_s, "latency_p50_ms": p50,
            "latency_p95_ms": p95}


def to_markdown(rows: list[dict[str, Any]], facts: dict[str, Any], command: str) -> str:
    lines = ["# Cameras: one node for N cameras vs one node per camera", "", f"Command: `{command}`", "",
             "Machine: " + ", ".join(f"{k} {v}" for k, v in facts.items()), "",
             "| cameras | layout | node processes | offered frames/s | masks/s | latency p50 ms "
             "| latency p95 ms |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['cameras']} | {r['layout']} | {r['processes']} | {r['offered_fps']:.1f} | "
                     f"{r['fps']:.1f} | {r['latency_p50_ms']:.1f} | {r['latency_p95_ms']:.1f} |")
    lines += ["", "masks/s: masks received over the measuring window, all cameras together; latency: "
              "publisher stamp -> mask receipt in the measuring process (same clock). one-node: "
              "one segmentation_node with camera_topics (newest frame of each camera, one "
              "segment_batch); per-camera: one segmentation_node process per camera."]
    return "\n".join(lines) + "\n"


def parse_size(text: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size {text!r} is not like 256x512") from None
    if h < 8 or w < 8 or h * w > 4096 * 4096:
        raise argparse.ArgumentTypeError(f"size {text!r} is out of range (8x8 .. 4096x4096)")
    return h, w


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rain_seg_ros.bench_cameras", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cameras", nargs="+", type=int, default=[1, 2, 4])
    parser.add_argument("--layouts", nargs="+", default=list(LAYOUTS), choices=LAYOUTS)
    parser.add_argument("--size", type=parse_size, default=(256, 512), help="camera frame HxW")
    parser.add_argument("--model", type=Path, help="exported segmenter (.onnx + sidecar); default: a tiny "
                        "random-weight one written at --size")
    parser.add_argument("--rate-hz", type=float, default=10.0, help="frames per second per camera")
    parser.add_argument("--duration-s", type=float, default=20.0, help="measuring window per setting")
    parser.add_argument("--warmup-s", type=float, default=2.0)
    parser.add_argument("--domain-id", type=int, default=200 + os.getpid() % 30)
    parser.add_argument("--out-dir", type=Path, default=Path("docs/benchmarks"))
    parser.add_argument("--name", default="cameras", help="output file stem (NAME.md, NAME.json)")
    parser.add_argument("--note", default="", help="a line for the table, e.g. how loaded the machine was")
    parser.add_argument("--publisher", action="store_true", help=argparse.SUPPRESS)  # internal: the camera
    args = parser.parse_args(argv)
    if args.publisher:
        return run_publisher(args.cameras[0], args.size[0], args.size[1], args.rate_hz)
    if min(args.cameras) < 1 or not 0 < args.rate_hz <= 1000 or args.duration_s <= 0 or args.warmup_s < 0:
        parser.error("need --cameras >= 1, 0 < --rate-hz <= 1000, --duration-s > 0, --warmup-s >= 0")
    if not 0 <= args.domain_id <= 232:
        parser.error(f"--domain-id {args.domain_id} is not a valid ROS_DOMAIN_ID (0..232)")
    if args.model is not None and not args.model.is_file():
        parser.error(f"--model {args.model} does not exist: give an exported .onnx (with its sidecar)")

    from rain_seg_ros.bench import machine_facts
    from rain_seg_ros.dds_env import loopback_dds_env

    env = {**os.environ, **loopback_dds_env(), "ROS_DOMAIN_ID": str(args.domain_id)}
    saved = dict(os.environ)
    os.environ.update({k: env[k] for k in ("ROS_DOMAIN_ID", *loopback_dds_env())})  # the meter here too
    args.out_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench_cameras-"))  # model and process logs: not for the docs
    model = args.model or write_tiny_segmenter(work / "tiny-segmenter.onnx", *args.size)
    log = work / "processes.log"
    load_before = os.getloadavg()
    try:
        rows = [measure(layout, n, model, args.size, args.rate_hz, args.duration_s, args.warmup_s, env, log)
                for n in args.cameras for layout in args.layouts]
    except RuntimeError as err:
        print(f"bench_cameras: {err}", file=sys.stderr)
        return 1
    finally:
        os.environ.clear()
        os.environ.update(saved)
    shutil.rmtree(work)
    facts: dict[str, Any] = machine_facts()
    facts.update(loadavg_before=[round(v, 2) for v in load_before],
                 loadavg_after=[round(v, 2) for v in os.getloadavg()],
                 frame=f"{args.size[0]}x{args.size[1]} rgb8", rate_hz_per_camera=args.rate_hz,
                 duration_s=args.duration_s, model=str(model.name) + (" (tiny random-weight, dynamic batch)"
                                                                       if args.model is None else ""))
    if args.note:
        facts["note"] = args.note
    command = "python -m rain_seg_ros.bench_cameras " + " ".join(argv if argv is not None else sys.argv[1:])
    (args.out_dir / f"{args.name}.json").write_text(
        json.dumps({"command": command, "machine": facts, "rows": rows}, indent=2) + "\n")
    markdown = to_markdown(rows, facts, command)
    (args.out_dir / f"{args.name}.md").write_text(markdown)
    print(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
