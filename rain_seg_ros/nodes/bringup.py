"""rain_seg_bringup: start the perception graph without ROS launch tooling.

    rain_seg_bringup --params config/perception.yaml --model model.onnx --camera-topic /camera/image_raw
    rain_seg_bringup --params config/perception.yaml --model model.onnx --weather --weather-mode derain
    rain_seg_bringup --params config/perception.yaml --model model.onnx --weather --weather-mode night2day \
        --night2day-model night2day.onnx                                     # CycleGAN F in front
    rain_seg_bringup --params config/perception.yaml --model model.onnx \
        --camera-topics /front/image_raw,/left/image_raw,/right/image_raw     # one node, three cameras
    rain_seg_bringup --params config/perception.yaml --model clear.onnx --condition-model condition.onnx \
        --models rain:/m/rain.onnx,night:/m/night.onnx                        # model per condition

Same graph, arguments and params file as `ros2 launch rain_seg_ros perception.launch.py`, but
in ONE process: both nodes spin in one SingleThreadedExecutor. Their callbacks only hand
frames to each node's own inference worker thread, so one executor thread is enough; a
4-thread MultiThreadedExecutor here cut the closed-loop rate from ~45 to ~8 fps on 2 cores
(GIL contention between executor threads, measured with a 64x96 model and 240x320 frames). Use launch, or run
`segmentation_node` / `weather_node` as separate executables, for separate processes.

Wiring: camera -> [weather_node -> weather_node/image] -> segmentation_node -> ~/mask ...
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import rclpy
import rclpy.executors
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node

from rain_seg_ros.dds_env import apply_dds_profile
from rain_seg_ros.nodes.common import ModelLoadError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rain_seg_bringup", description=__doc__.split("\n")[0])
    parser.add_argument("--params", type=Path, help="ROS params YAML (config/perception.yaml)")
    parser.add_argument("--camera-topic", default="image", help="camera image topic (without /compressed)")
    parser.add_argument("--camera-topics", default="", metavar="T1,T2,...",
                        help="serve several cameras with one segmentation_node (comma-separated topics, "
                             "without /compressed; sets camera_topics; outputs ~/<camera>/mask ...)")
    parser.add_argument("--compressed", action="store_true", help="subscribe <camera-topic>/compressed")
    parser.add_argument("--model", help="segmentation model; overrides model_path from --params")
    parser.add_argument("--backend", help="auto | onnxruntime | torch | tensorrt; overrides --params")
    parser.add_argument("--trust-pt2", action="store_true",
                        help="let segmentation_node load a .pt2 --model (sets trust_pt2_model): a .pt2 is a "
                             "PyTorch program that can run code when loaded; only for files you trust")
    parser.add_argument("--condition-model", help="condition estimator; sets condition_model_path")
    parser.add_argument("--models", metavar="COND:PATH,...",
                        help="model per condition, e.g. rain:/m/rain.onnx,night:/m/night.onnx; sets models")
    parser.add_argument("--weather", action="store_true", help="run weather_node in front of the segmenter")
    parser.add_argument("--weather-mode",
                        help="passthrough | derain | rainify | night2day | day2night; overrides --params")
    parser.add_argument("--weather-model", help="DSANet encoder export for weather_node; overrides --params")
    parser.add_argument("--night2day-model", help="CycleGAN F export (export onnx --direction night2day) for "
                                                  "weather_node; sets night2day_model_path")
    parser.add_argument("--day2night-model", help="CycleGAN G export (export onnx --direction day2night) for "
                                                  "weather_node; sets day2night_model_path")
    parser.add_argument("--namespace", default="", help="namespace for both nodes")
    # NAME=VALUE, not NAME:=VALUE: rclpy strips "a:=b" words from argv as legacy remappings
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                        help="extra segmentation_node parameter, e.g. qos_reliability=reliable (repeatable)")
    return parser


def node_args(params: Path | None, remaps: dict[str, str], overrides: dict[str, object]) -> list[str]:
    """ROS command-line arguments for one node: params file, then overrides, then remappings."""
    args = ["--ros-args"]
    if params is not None:
        args += ["--params-file", str(params)]
    for key, value in overrides.items():
        text = str(value).lower() if isinstance(value, bool) else str(value)
        args += ["-p", f"{key}:={text}"]
    for src, dst in remaps.items():
        args += ["-r", f"{src}:={dst}"]
    return args


def build_nodes(opts: argparse.Namespace) -> list[Node]:
    """The graph's nodes, wired as the launch file wires them (import here: these load models)."""
    from rain_seg_ros.nodes.segmentation_node import SegmentationNode
    from rain_seg_ros.nodes.weather_node import WeatherNode

    camera = opts.camera_topic
    suffix = "/compressed" if opts.compressed else ""
    nodes: list[Node] = []
    seg_input = f"{camera}{suffix}"
    seg_overrides: dict[str, object] = {"compressed_input": opts.compressed}
    cameras = [t.strip() for t in opts.camera_topics.split(",") if t.strip()]
    if cameras and opts.weather:
        raise SystemExit("rain_seg_bringup: --weather serves one camera; drop --camera-topics or --weather")
    if cameras:
        seg_overrides["camera_topics"] = "[" + ", ".join(cameras) + "]"  # a YAML list on the command line
    if opts.weather:
        weather_overrides: dict[str, object] = {"compressed_input": opts.compressed}
        if opts.weather_mode:
            weather_overrides["mode"] = opts.weather_mode
        if opts.weather_model:
            weather_overrides["model_path"] = opts.weather_model
        if opts.night2day_model:
            weather_overrides["night2day_model_path"] = opts.night2day_model
        if opts.day2night_model:
            weather_overrides["day2night_model_path"] = opts.day2night_model
        remaps = {f"image{suffix}": f"{camera}{suffix}"}
        nodes.append(WeatherNode(namespace=opts.namespace,
                                 cli_args=node_args(opts.params, remaps, weather_overrides)))
        seg_input, seg_overrides["compressed_input"] = "weather_node/image", False  # weather answers raw
    if opts.model:
        seg_overrides["model_path"] = opts.model
    if opts.backend:
        seg_overrides["backend"] = opts.backend
    if opts.trust_pt2:
        seg_overrides["trust_pt2_model"] = True
    if opts.condition_model:
        seg_overrides["condition_model_path"] = opts.condition_model
    if opts.models:
        # quoted YAML strings: an unquoted rain:/m.onnx does not parse as a list entry
        seg_overrides["models"] = "[" + ", ".join(f'"{m.strip()}"' for m in opts.models.split(",")) + "]"
    for item in opts.param:
        name, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"rain_seg_bringup: --param wants NAME=VALUE, got {item!r}")
        seg_overrides[name] = value
    # with camera_topics the node subscribes those names itself: nothing to remap
    seg_remaps = {} if cameras else {"image/compressed" if seg_overrides["compressed_input"] else "image":
                                     seg_input}
    nodes.append(SegmentationNode(namespace=opts.namespace,
                                  cli_args=node_args(opts.params, seg_remaps, seg_overrides)))
    return nodes


def main(argv: list[str] | None = None) -> int:
    opts = build_parser().parse_args(rclpy.utilities.remove_ros_args(sys.argv)[1:] if argv is None else argv)
    if opts.params is not None and not opts.params.is_file():
        print(f"rain_seg_bringup: params file {opts.params} not found", file=sys.stderr)
        return 2
    apply_dds_profile("rain_seg_bringup")  # FastDDS reads the profile when the first participant starts
    rclpy.init()
    nodes: list[Node] = []
    executor = SingleThreadedExecutor()
    try:
        nodes = build_nodes(opts)
        for node in nodes:
            executor.add_node(node)
        executor.spin()
    except ModelLoadError as err:
        print(f"rain_seg_bringup: {err}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, rclpy.executors.ExternalShutdownException):
        pass
    finally:
        executor.shutdown()
        for node in nodes:
            node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
