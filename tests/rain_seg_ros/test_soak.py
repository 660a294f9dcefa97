"""Soak: the graph (rain_seg_bringup in its own process) at the highest rate it sustains for
two minutes over loopback DDS; its RSS is sampled every second and must not grow.

"Highest rate it sustains" = closed loop: the next frame goes out as soon as the previous
mask is back, with one extra frame in flight so the newest-frame-wins path is exercised too.
Bounded and self-stopping: SOAK_S of publishing, then the process is stopped.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import psutil
import pytest
from diagnostic_msgs.msg import DiagnosticArray
from sensor_msgs.msg import Image

from rain_seg_ros.codec import fill_image_msg, rgb_to_image_fields
from rain_seg_ros.replay.replay_eval import stop_graph
from rain_seg_ros.replay.stall_watch import StallWatch

from .ros_fixtures import RELIABLE, InProcessGraph, Probe, band_frame, wait_matched, write_band_segmenter

pytestmark = pytest.mark.ros
SOAK_S = 125.0
WARMUP_S = 20.0


def test_soak_rss_does_not_grow(tmp_path):
    model = write_band_segmenter(tmp_path / "band.onnx", height=64, width=96)
    log = (tmp_path / "bringup.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "rain_seg_ros.nodes.bringup", "--model", str(model),
         "--backend", "onnxruntime", "--camera-topic", "/soak/image"],
        env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT)
    graph = InProcessGraph()
    try:
        probe = graph.add(Probe(graph.context))
        probe.listen(Image, "/segmentation_node/mask")
        probe.listen(DiagnosticArray, "/diagnostics", 10)
        pub = probe.create_publisher(Image, "/soak/image", RELIABLE)
        wait_matched(pub, timeout_s=60)
        node = psutil.Process(proc.pid)
        msg = fill_image_msg(Image(), rgb_to_image_fields(band_frame(240, 320), "bgr8"))
        topic = "/segmentation_node/mask"
        masks = probe.received[topic]

        samples: list[tuple[float, int]] = []
        sent, lost, start, next_sample = 0, 0, time.monotonic(), 0.0
        with StallWatch() as watch:
            while (elapsed := time.monotonic() - start) < SOAK_S:
                msg.header.stamp.sec, msg.header.stamp.nanosec = sent // 1000, sent % 1000 * 1000
                pub.publish(msg)
                sent += 1
                # <= 2 frames in flight: publish again once all but the newest are answered (or lost)
                if not probe.wait_for(lambda: probe.counts[topic] + lost >= sent - 1, timeout_s=2.0):
                    lost += 1
                if elapsed >= next_sample:
                    samples.append((elapsed, node.memory_info().rss))
                    next_sample += 1.0
                del masks[:-5]  # keep the probe's own memory flat
        assert proc.poll() is None, (tmp_path / "bringup.log").read_text()
        probe.wait_for(lambda: len(probe.received["/diagnostics"]) > 0, 2.0)
    finally:
        graph.close()
        stop_graph(proc)
        log.close()

    times = np.array([t for t, _ in samples])
    rss_mb = np.array([r for _, r in samples]) / 2**20
    steady = times >= WARMUP_S
    slope_mb_per_min = np.polyfit(times[steady], rss_mb[steady], 1)[0] * 60
    first, last = np.median(rss_mb[steady][:20]), np.median(rss_mb[steady][-20:])
    print(f"soak: {sent} frames ({lost} unanswered) in {SOAK_S:.0f} s ({sent / SOAK_S:.1f} fps), "
          f"RSS {rss_mb[0]:.1f} -> "
          f"{rss_mb[-1]:.1f} MB, steady slope {slope_mb_per_min:+.2f} MB/min; probe process "
          f"scheduling {watch.summary()}")
    # Speed floor: 240x320 frames through a 64x96 model ran at ~400 fps on the idle 2-core dev
    # machine (single-threaded executors everywhere). Two rclpy MultiThreadedExecutors once held
    # it at 5-90 fps (docs/ros.md "Known issues"); below 30 fps something serialises again.
    assert sent / SOAK_S > 30, (f"the graph kept up with only {sent / SOAK_S:.1f} fps; probe process "
                                f"scheduling {watch.summary()} (stalls there: the probe was not running)")
    # With two frames in flight the node may drop the older one by design (newest wins), so a
    # few unanswered frames are expected; many would mean the graph stalls or loses frames.
    assert lost <= max(3, sent * 3 // 100), f"{lost} of {sent} frames never answered"
    assert times[-1] >= 120.0 and len(samples) >= 110
    assert last - first < 8.0, f"RSS grew {last - first:.1f} MB after warm-up"
    # Same bound as the 8 MB above, per minute of the ~100 s steady window; a per-frame leak
    # grows with the frame count, this does not (seen: +0.1..2.3 MB/min at 7..100 fps).
    assert slope_mb_per_min < 4.0
