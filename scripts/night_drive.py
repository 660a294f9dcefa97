"""The night drive through weather_node(night2day) -> segmentation_node, against the segmenter
alone and the fused F->segmenter graph, in one command (issue 14; results in docs/night.md).

    ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST ROS_DOMAIN_ID=91 .venv/bin/python scripts/night_drive.py \
        --bag runs/nd/night_bag --segmenter runs/nd/seg_baseline.onnx --night2day runs/nd/night2day.onnx \
        --fused runs/nd/fused.onnx --out runs/nd/report [--paper-bag runs/nd/night_bag_480 \
        --paper-night2day runs/nd/paper_f.onnx]

It trains and exports nothing: it takes the exports and bags, runs `replay_eval` (closed loop,
--rate 0: each frame once the previous mask is back, so latency has no queueing in it) per row,
starts `rain_seg_bringup --weather --weather-mode night2day` in the background for the weather
rows (replay_eval has no weather flags) and stops it after, and keeps weather_node's own
/diagnostics (its latency is its share of the end-to-end one). Writes OUT/report.json and
OUT/report.md; each row's full replay report stays in OUT/<row>/.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

PY = sys.executable
TOPICS = ["--image-topic", "/camera/image_raw", "--gt-topic", "/camera/gt_mask"]
# reliable camera subscriptions in both nodes, as replay_eval --model sets for the segmenter alone:
# every frame is scored, none is lost to socket buffers
RELIABLE_PARAMS = """/**/weather_node:
  ros__parameters:
    qos_reliability: reliable
/**/segmentation_node:
  ros__parameters:
    qos_reliability: reliable
"""
WEATHER_KEYS = ("latency_p50_ms", "latency_p95_ms", "latency_mean_ms", "received",
                "published", "dropped", "processing_error")


class WeatherDiagnostics:
    """Keeps the last /diagnostics status of /weather_node, spun in a thread of its own context."""

    def __enter__(self) -> WeatherDiagnostics:
        import rclpy
        from diagnostic_msgs.msg import DiagnosticArray
        from rclpy.executors import SingleThreadedExecutor

        self.last: dict[str, str] = {}
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node("night_drive_diagnostics", context=self.context)
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self._callback, 10)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()
        return self

    def _callback(self, msg) -> None:  # noqa: ANN001 (DiagnosticArray)
        for status in msg.status:
            if status.name.rstrip("/").endswith("weather_node"):
                self.last = {kv.key: kv.value for kv in status.values}

    def __exit__(self, *exc: object) -> None:
        import rclpy

        self.executor.shutdown()
        self.thread.join(timeout=5.0)
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)


def replay(bag: Path, out: Path, *extra: str) -> dict:
    subprocess.run([PY, "-m", "rain_seg_ros.replay.replay_eval", str(bag), *TOPICS, "--rate", "0",
                    "--frame-timeout-s", "30", "--wait-s", "60", "--no-bag", "--out", str(out), *extra],
                   check=True)
    return json.loads((out / "report.json").read_text())


def weather_row(bag: Path, out: Path, segmenter: Path, night2day: Path) -> tuple[dict, dict]:
    """(replay report, weather_node's last diagnostics) through the two-node graph."""
    params = out.parent / "reliable.yaml"
    params.write_text(RELIABLE_PARAMS)
    graph = subprocess.Popen([PY, "-m", "rain_seg_ros.nodes.bringup", "--params", str(params),
                              "--model", str(segmenter), "--backend", "onnxruntime",
                              "--camera-topic", "/camera/image_raw", "--weather",
                              "--weather-mode", "night2day", "--night2day-model", str(night2day)],
                             start_new_session=True)
    try:
        with WeatherDiagnostics() as diag:
            report = replay(bag, out)
            time.sleep(1.5)  # diagnostics are published once a second: take one after the last frame
            weather = dict(diag.last)
    finally:
        graph.send_signal(signal.SIGINT)
        try:
            graph.wait(10)
        except subprocess.TimeoutExpired:
            graph.kill()
            graph.wait()
    return report, weather


def summary(name: str, report: dict, weather: dict | None) -> dict:
    run, lat = report["run"], report["latency_ms"]
    row = {"row": name, "miou": report.get("scores", {}).get("miou"), "frames_sent": run["frames_sent"],
           "masks_received": run["masks_received"],
           "latency_p50_ms": lat["p50"], "latency_p95_ms": lat["p95"],
           "segmenter_latency_p50_ms": float(report["node_diagnostics"].get("latency_p50_ms", "nan"))}
    if weather is not None:
        row["weather"] = {k: weather.get(k) for k in WEATHER_KEYS}
    return row


def markdown(rows: list[dict], load: tuple[float, float, float]) -> str:
    lines = [f"Load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (2-core CPU, shared).", "",
             "| row | mIoU | answered | e2e p50 ms | e2e p95 ms | weather_node p50 / p95 ms "
             "| segmenter p50 ms |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        w = r.get("weather")
        share = f"{float(w['latency_p50_ms']):.1f} / {float(w['latency_p95_ms']):.1f}" if w else "-"
        miou = f"{100 * r['miou']:.1f}" if r["miou"] is not None else "-"
        lines.append(f"| {r['row']} | {miou} | {r['masks_received']}/{r['frames_sent']} | "
                     f"{r['latency_p50_ms']:.1f} | {r['latency_p95_ms']:.1f} | {share} | "
                     f"{r['segmenter_latency_p50_ms']:.1f} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bag", type=Path, required=True)
    p.add_argument("--segmenter", type=Path, required=True)
    p.add_argument("--night2day", type=Path, required=True)
    p.add_argument("--fused", type=Path, required=True)
    p.add_argument("--paper-bag", type=Path, help="a 270x480 night bag for the paper-sized F row")
    p.add_argument("--paper-night2day", type=Path, help="paper-sized F export (9 blocks, width 64)")
    p.add_argument("--out", type=Path, required=True)
    opts = p.parse_args()
    if os.environ.get("ROS_AUTOMATIC_DISCOVERY_RANGE") != "LOCALHOST" or "ROS_DOMAIN_ID" not in os.environ:
        print("night_drive: set ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST and a ROS_DOMAIN_ID of its own",
              file=sys.stderr)
        return 2
    opts.out.mkdir(parents=True, exist_ok=True)
    rows = [summary("segmenter alone", replay(opts.bag, opts.out / "alone", "--model", str(opts.segmenter),
                                              "--backend", "onnxruntime"), None)]
    rows.append(summary("weather_node(night2day) -> segmenter",
                        *weather_row(opts.bag, opts.out / "weather", opts.segmenter, opts.night2day)))
    fused = replay(opts.bag, opts.out / "fused", "--model", str(opts.fused), "--backend", "onnxruntime")
    rows.append(summary("fused F->segmenter, one graph", fused, None))
    if opts.paper_bag and opts.paper_night2day:
        rows.append(summary("paper-sized F (random) at 270x480 -> segmenter", *weather_row(
            opts.paper_bag, opts.out / "paper", opts.segmenter, opts.paper_night2day)))
    load = os.getloadavg()
    (opts.out / "report.json").write_text(json.dumps({"rows": rows, "load_average": load}, indent=2) + "\n")
    (opts.out / "report.md").write_text(markdown(rows, load))
    print(markdown(rows, load))
    return 0


if __name__ == "__main__":
    sys.exit(main())
