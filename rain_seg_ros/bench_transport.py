"""Transport benchmark: camera frames between two rclpy processes, FastDDS profile off and on.

    python -m rain_seg_ros.bench_transport --out docs/benchmarks/transport.md
    python -m rain_seg_ros.bench_transport --sizes 1024x512 2048x1024 --qos reliable best_effort \
        --profiles off on --rate-hz 30 --frames 300 --out docs/benchmarks/transport.md

Every row (profile x QoS x size) starts a subscriber process, then a publisher process, on
loopback with this run's ROS_DOMAIN_ID and a topic of its own. The publisher waits for the
subscriber, sends `--warmup` frames that are not counted (discovery may still be settling),
then `--frames` rgb8 frames at `--rate-hz`, depth 5. Latency = time the subscriber's callback
runs - time just before `publish()` (CLOCK_MONOTONIC, one machine): serialisation, transport,
deserialisation and the executor. Lost = measured frames the subscriber never saw.
"off" = FastDDS defaults (512 KiB shared-memory segment), "on" = the shipped profile
(config/fastdds_shm.xml, see rain_seg_ros/dds_env.py). All rows run in one command, so a
loaded machine slows them alike; the table states the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from rain_seg_ros.dds_env import PROFILE_VARS, dds_env

QUEUE_DEPTH = 5


@dataclass
class Row:
    profile: str
    qos: str
    width: int
    height: int
    sent: int
    received: int
    lost: int
    p50_ms: float | None
    p95_ms: float | None


def parse_size(text: str) -> tuple[int, int]:
    """'2048x1024' -> (width, height)."""
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size {text!r} is not WIDTHxHEIGHT, e.g. 2048x1024") from None
    if width <= 0 or height <= 0:
        raise argparse.ArgumentTypeError(f"size {text!r} must be positive")
    return width, height


def qos_profile(reliability: str):  # noqa: ANN201 - rclpy type, imported in the child only
    from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy

    policy = ReliabilityPolicy.RELIABLE if reliability == "reliable" else ReliabilityPolicy.BEST_EFFORT
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=QUEUE_DEPTH, reliability=policy)


def run_publisher(opts: argparse.Namespace) -> int:
    """Child: wait for the subscriber, then publish warm-up + measured frames at the rate."""
    import rclpy
    from sensor_msgs.msg import Image

    from rain_seg_ros.codec import array_to_image_fields, fill_image_msg

    width, height = opts.size
    rclpy.init()
    node = rclpy.create_node("bench_transport_pub")
    try:
        pub = node.create_publisher(Image, opts.topic, qos_profile(opts.qos))
        rgb = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
        msg = fill_image_msg(Image(), array_to_image_fields(rgb, "rgb8"))  # built once, header per frame
        deadline = time.monotonic() + opts.match_timeout_s
        while pub.get_subscription_count() < 1:
            if time.monotonic() > deadline:
                print(f"bench_transport: no subscriber on {opts.topic} after {opts.match_timeout_s} s",
                      file=sys.stderr)
                return 1
            time.sleep(0.02)
        period = 1.0 / opts.rate_hz
        next_time = time.monotonic()
        total = opts.warmup + opts.frames
        for index in range(total):
            # A late frame does not make the next ones come in a burst: the schedule restarts.
            next_time = max(next_time + period, time.monotonic())
            time.sleep(max(0.0, next_time - time.monotonic()))
            msg.header.frame_id = str(index)
            stamp = time.monotonic_ns()
            msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(stamp, 1_000_000_000)
            pub.publish(msg)
        time.sleep(opts.drain_s)  # reliable: let the last frames be repaired before the writer goes
        print(json.dumps({"sent": total}))
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


def run_subscriber(opts: argparse.Namespace) -> int:
    """Child: record (frame index, latency) until stdin closes, then print them as JSON."""
    import rclpy
    from sensor_msgs.msg import Image

    received: dict[int, float] = {}

    def image_callback(msg: Image) -> None:
        now = time.monotonic_ns()
        sent = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
        received.setdefault(int(msg.header.frame_id), (now - sent) / 1e6)

    stop = threading.Event()

    def wait_for_stdin_eof() -> None:  # the orchestrator closes our stdin when the publisher is done
        sys.stdin.read()
        stop.set()

    threading.Thread(target=wait_for_stdin_eof, daemon=True).start()
    rclpy.init()
    node = rclpy.create_node("bench_transport_sub")
    try:
        node.create_subscription(Image, opts.topic, image_callback, qos_profile(opts.qos))
        while not stop.is_set():
            rclpy.spin_once(node, timeout_sec=0.05)
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    print(json.dumps({"received": sorted(received.items())}))
    return 0


def summarise(profile: str, qos: str, size: tuple[int, int], sent: int, warmup: int,
              received: list[tuple[int, float]]) -> Row:
    """Statistics over the measured frames (indices >= warmup) only."""
    measured = {index: ms for index, ms in received if warmup <= index < sent}
    latencies = np.array(list(measured.values()), dtype=float)
    p50, p95 = (None, None) if latencies.size == 0 else (float(np.percentile(latencies, 50)),
                                                         float(np.percentile(latencies, 95)))
    frames = max(sent - warmup, 0)
    return Row(profile=profile, qos=qos, width=size[0], height=size[1], sent=frames,
               received=len(measured), lost=frames - len(measured),
               p50_ms=None if p50 is None else round(p50, 1), p95_ms=None if p95 is None else round(p95, 1))


def child_env(profile: str, domain_id: int) -> dict[str, str]:
    """This process's environment on loopback with the run's domain; profile vars only when on."""
    env = {k: v for k, v in os.environ.items() if k not in PROFILE_VARS}  # "on" = the shipped one
    env.update(dds_env(profile=profile == "on", environ=env))
    env["ROS_DOMAIN_ID"] = str(domain_id)
    return env


class ChildFailed(RuntimeError):
    """A publisher or subscriber process of a row exited with an error."""


def measure_row(opts: argparse.Namespace, profile: str, qos: str, size: tuple[int, int], topic: str) -> Row:
    """One subscriber + one publisher process on `topic`; their stderr goes to ours."""
    env = child_env(profile, opts.domain_id)
    common = [sys.executable, "-m", "rain_seg_ros.bench_transport", "--topic", topic, "--qos", qos]
    sub = subprocess.Popen([*common, "--role", "sub"], env=env, stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, text=True)
    pub_cmd = [*common, "--role", "pub", "--size", f"{size[0]}x{size[1]}", "--rate-hz", str(opts.rate_hz),
               "--frames", str(opts.frames), "--warmup", str(opts.warmup)]
    budget = opts.match_timeout_s + (opts.frames + opts.warmup) / opts.rate_hz + 30
    try:
        pub = subprocess.run(pub_cmd, env=env, stdout=subprocess.PIPE, text=True, timeout=budget)
        out, _ = sub.communicate(input="", timeout=30)  # closing its stdin stops the subscriber
    finally:
        if sub.poll() is None:  # the publisher or the subscriber hung: leave no process behind
            sub.kill()
            sub.wait()
    row_name = f"profile {profile}, {qos}, {size[0]}x{size[1]}"
    if pub.returncode != 0 or sub.returncode != 0:
        raise ChildFailed(f"row {row_name}: publisher exit {pub.returncode}, subscriber exit "
                          f"{sub.returncode} (their messages are above)")
    received = [(int(i), float(ms)) for i, ms in json.loads(out)["received"]]
    return summarise(profile, qos, size, json.loads(pub.stdout)["sent"], opts.warmup, received)


def machine_facts() -> dict[str, object]:
    """What the numbers depend on. Not rain_seg_ros.bench.machine_facts: that imports torch (~5 s)."""
    cpu = platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    facts: dict[str, object] = {"cpu": cpu, "logical_cores": os.cpu_count(),
                                "python": platform.python_version(),
                                "ros_distro": os.environ.get("ROS_DISTRO") or "kilted (pip wheels)",
                                "rmw": os.environ.get("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp (default)")}
    for dist in ("ros-fastdds", "ros-kilted-rclpy"):
        try:
            facts[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return facts


def to_markdown(rows: list[Row], facts: dict[str, object], opts: argparse.Namespace, command: str) -> str:
    lines = ["# Transport: rgb8 frames between two rclpy processes", "",
             f"Command: `{command}`", "",
             f"{opts.frames} measured frames per row (+{opts.warmup} warm-up) at {opts.rate_hz:g} Hz, "
             f"depth {QUEUE_DEPTH}, latency = subscriber callback - before publish(). "
             "Profile off = FastDDS defaults (512 KiB shared-memory segment), "
             "on = config/fastdds_shm.xml (64 MiB segment, UDP on 127.0.0.1 only).", "",
             "Machine: " + ", ".join(f"{k} {v}" for k, v in facts.items()), "",
             "| profile | QoS | size (W×H) | frames | lost | p50 ms | p95 ms |",
             "|---|---|---|---:|---:|---:|---:|"]
    for r in rows:
        p50 = "–" if r.p50_ms is None else f"{r.p50_ms:.1f}"
        p95 = "–" if r.p95_ms is None else f"{r.p95_ms:.1f}"
        size = f"{r.width}×{r.height}"
        lines.append(f"| {r.profile} | {r.qos} | {size} | {r.sent} | {r.lost} | {p50} | {p95} |")
    return "\n".join(lines) + "\n"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m rain_seg_ros.bench_transport",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", nargs="+", type=parse_size, default=[(1024, 512), (2048, 1024)],
                        metavar="WxH", help="frame sizes (default: 1024x512 2048x1024)")
    parser.add_argument("--qos", nargs="+", choices=["reliable", "best_effort"],
                        default=["reliable", "best_effort"], help="reliability settings to measure")
    parser.add_argument("--profiles", nargs="+", choices=["off", "on"], default=["off", "on"],
                        help="off = FastDDS defaults, on = the shipped profile (config/fastdds_shm.xml)")
    parser.add_argument("--rate-hz", type=float, default=30.0, help="publish rate (default 30)")
    parser.add_argument("--frames", type=int, default=300, help="measured frames per row (default 300)")
    parser.add_argument("--warmup", type=int, default=15, help="frames sent first and not counted")
    parser.add_argument("--out", type=Path, help="write the markdown table here (and .json next to it)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    # Internal: the orchestrator starts this module as publisher / subscriber child processes.
    parser.add_argument("--role", choices=["pub", "sub"], help=argparse.SUPPRESS)
    parser.add_argument("--topic", default="bench_transport", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=parse_size, default=(64, 32), help=argparse.SUPPRESS)
    parser.add_argument("--match-timeout-s", type=float, default=20.0, help=argparse.SUPPRESS)
    parser.add_argument("--drain-s", type=float, default=0.5, help=argparse.SUPPRESS)
    return parser


def run_all(opts: argparse.Namespace, argv: list[str] | None) -> int:
    """Every row side by side, then the table (stdout, and --out)."""
    opts.domain_id = int(os.environ.get("ROS_DOMAIN_ID") or 100 + os.getpid() % 90)
    load_before = os.getloadavg()
    rows = []
    for profile in opts.profiles:
        for qos in opts.qos:
            for size in opts.sizes:
                # A topic per row and run: a straggler of an earlier row, or someone else's run on
                # the same domain, cannot feed this row.
                topic = f"bench_transport_{os.getpid()}_{profile}_{qos}_{size[0]}x{size[1]}"
                row = measure_row(opts, profile, qos, size, topic)
                print(json.dumps(asdict(row)), flush=True)
                rows.append(row)
    facts = machine_facts() | {"loadavg_before": [round(v, 2) for v in load_before],
                               "loadavg_after": [round(v, 2) for v in os.getloadavg()]}
    command = "python -m rain_seg_ros.bench_transport " + " ".join(sys.argv[1:] if argv is None else argv)
    text = to_markdown(rows, facts, opts, command.strip())
    if opts.out is not None:
        opts.out.parent.mkdir(parents=True, exist_ok=True)
        opts.out.write_text(text)
        opts.out.with_suffix(".json").write_text(json.dumps(
            {"rows": [asdict(r) for r in rows], "machine": facts}, indent=1) + "\n")
    print(text)
    return 0


def main(argv: list[str] | None = None) -> int:
    opts = build_parser().parse_args(argv)
    if opts.role == "pub":
        return run_publisher(opts)
    if opts.role == "sub":
        return run_subscriber(opts)
    if opts.frames < 1 or opts.warmup < 0 or opts.rate_hz <= 0:
        print("bench_transport: --frames must be >= 1, --warmup >= 0 and --rate-hz > 0", file=sys.stderr)
        return 2
    try:
        child_env("on", 0)  # a missing profile file: one line, before any row runs
        return run_all(opts, argv)
    except (FileNotFoundError, ChildFailed, subprocess.TimeoutExpired) as err:
        if opts.debug:
            raise
        print(f"bench_transport: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
