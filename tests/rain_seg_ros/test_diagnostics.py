"""ROS-free node statistics: rates, percentiles (against the statistics module), counters, levels."""

from __future__ import annotations

import statistics

import numpy as np
import pytest

from rain_seg_ros.diagnostics import KindThrottle, NodeStats, Percentiles, RateMeter


@pytest.mark.parametrize("period_s", [0.01, 0.1, 2.5])
def test_rate_of_a_regular_stream(period_s):
    meter = RateMeter(window_s=5.0)
    for k in range(40):
        meter.tick(k * period_s)
    assert meter.rate_hz(39 * period_s + period_s / 2) == pytest.approx(1 / period_s)


def test_rate_drops_to_zero_when_the_stream_stops():
    meter = RateMeter(window_s=5.0)
    for k in range(10):
        meter.tick(k * 0.1)
    assert meter.rate_hz(0.95) == pytest.approx(10)
    assert meter.rate_hz(7.0) == 0.0
    assert RateMeter().rate_hz(1.0) == 0.0


def test_percentiles_match_the_statistics_module_and_stay_bounded():
    rng = np.random.default_rng(0)
    samples = Percentiles(capacity=500)
    values = rng.exponential(20.0, 1200)
    for v in values:
        samples.add(v)
    assert len(samples) == 500
    kept = list(values[-500:])
    cuts = statistics.quantiles(kept, n=100, method="inclusive")  # cuts[k-1] = k-th percentile
    got = samples.percentiles((50, 95, 99))
    assert got[50] == pytest.approx(cuts[49]) and got[95] == pytest.approx(cuts[94])
    assert got[99] == pytest.approx(cuts[98])
    assert samples.mean() == pytest.approx(np.mean(kept))


def test_snapshot_and_levels():
    stats = NodeStats(backend="onnxruntime")
    for k in range(10):
        stats.frame_received(now_s=k * 0.1)
        stats.frame_published(latency_ms=10.0 + k, stages_ms={"infer": 5.0}, now_s=k * 0.1 + 0.01)
    stats.count("dropped", 2)
    snap = stats.snapshot(now_s=1.0)
    assert snap["backend"] == "onnxruntime" and snap["received"] == "10" and snap["published"] == "10"
    assert float(snap["input_rate_hz"]) == pytest.approx(10, rel=0.01)
    assert float(snap["latency_p50_ms"]) == pytest.approx(14.5) and snap["infer_mean_ms"] == "5.00"
    assert snap["drop_rate"] == "0.2000" and snap["bad_frame"] == "0"
    assert stats.level() == 0
    stats.count("bad_frame", error="unsupported encoding '32FC1'")
    assert stats.level() == 1 and "32FC1" in stats.snapshot()["last_error"]
    assert stats.level() == 0  # WARN only while new trouble arrives


def test_kind_throttle_logs_each_kind_first_then_once_per_period():
    throttle = KindThrottle(period_s=5.0)
    assert throttle.allow("CodecError", now_s=0.0) == 0
    assert throttle.allow("RuntimeError", now_s=0.1) == 0  # a new kind is not held back by another
    assert [throttle.allow("CodecError", now_s=t) for t in (1.0, 2.0, 4.9)] == [None, None, None]
    assert throttle.allow("CodecError", now_s=5.0) == 3
    assert throttle.allow("CodecError", now_s=6.0) is None
    assert throttle.allow("RuntimeError", now_s=5.2) == 0


def test_lasting_error_keeps_error_level_until_cleared():
    stats = NodeStats()
    stats.set_lasting_error("mode", "mode='rainfy' is not one of passthrough, derain, rainify")
    assert stats.level() == 2 and stats.level() == 2
    assert "rainfy" in stats.snapshot()["lasting_errors"]
    stats.clear_lasting_error("mode")
    assert stats.level() == 0 and stats.snapshot()["lasting_errors"] == ""
