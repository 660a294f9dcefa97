"""ROS-free runtime statistics for the nodes: rates, latency percentiles, counters.

The nodes feed a `NodeStats` from their callback and worker threads and turn
`NodeStats.snapshot()` into a diagnostic_msgs/DiagnosticStatus once a second.

    >>> stats = NodeStats(backend="onnxruntime")
    >>> stats.frame_received(now_s=0.0); stats.frame_published(latency_ms=12.0, now_s=0.01)
    >>> stats.snapshot(now_s=1.0)["latency_p50_ms"]
    '12.00'
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque

import numpy as np


class RateMeter:
    """Events per second over a sliding window of `window_s` seconds.

    The last two events are always kept so that slow streams (one frame every few seconds)
    still report their rate; a stream silent for longer than the window or two periods
    reports 0.
    """

    def __init__(self, window_s: float = 5.0) -> None:
        self.window_s = window_s
        self._times: deque[float] = deque()

    def tick(self, now_s: float) -> None:
        self._times.append(now_s)
        self._trim(now_s)

    def rate_hz(self, now_s: float) -> float:
        self._trim(now_s)
        if len(self._times) < 2:
            return 0.0
        span = self._times[-1] - self._times[0]
        if span <= 0:
            return 0.0
        rate = (len(self._times) - 1) / span
        if now_s - self._times[-1] > max(self.window_s, 2.0 / rate):
            return 0.0  # stalled
        return rate

    def _trim(self, now_s: float) -> None:
        while len(self._times) > 2 and self._times[0] < now_s - self.window_s:
            self._times.popleft()


class Percentiles:
    """The last `capacity` samples of a quantity, with percentiles on demand (bounded memory)."""

    def __init__(self, capacity: int = 2000) -> None:
        self._values: deque[float] = deque(maxlen=capacity)

    def add(self, value: float) -> None:
        self._values.append(float(value))

    def __len__(self) -> int:
        return len(self._values)

    def percentiles(self, qs: tuple[float, ...] = (50, 95, 99)) -> dict[float, float]:
        if not self._values:
            return {q: float("nan") for q in qs}
        values = np.percentile(np.fromiter(self._values, dtype=np.float64), qs)
        return dict(zip(qs, (float(v) for v in values)))

    def mean(self) -> float:
        return float(np.mean(self._values)) if self._values else float("nan")


class KindThrottle:
    """When to log an error of a given kind: at its first occurrence, then at most once per
    `period_s`, saying how many of that kind went unlogged in between. One flood of one kind
    then cannot hide the first occurrence of another.
    """

    def __init__(self, period_s: float = 5.0) -> None:
        self.period_s = period_s
        self._last_s: dict[str, float] = {}
        self._unlogged: Counter[str] = Counter()
        self._lock = threading.Lock()

    def allow(self, kind: str, now_s: float | None = None) -> int | None:
        """None: do not log this one. Otherwise log it; the int is how many were held back before it."""
        now_s = time.monotonic() if now_s is None else now_s
        with self._lock:
            last = self._last_s.get(kind)
            if last is not None and now_s - last < self.period_s:
                self._unlogged[kind] += 1
                return None
            self._last_s[kind] = now_s
            return self._unlogged.pop(kind, 0)


COUNTERS = ("received", "published", "dropped", "not_ready", "bad_frame", "processing_error", "bad_parameter")
TROUBLE = ("bad_frame", "processing_error", "bad_parameter")


class NodeStats:
    """Thread-safe counters, rates and latencies of one node.

    Counters used by the nodes: received, published, dropped (a newer frame replaced one
    still waiting), not_ready (arrived before the model was, e.g. while a TensorRT engine
    is being built), bad_frame (CodecError), processing_error (any other exception of one
    frame), bad_parameter.
    """

    def __init__(self, backend: str = "", window_s: float = 5.0) -> None:
        self.backend = backend
        self.counts: Counter[str] = Counter()
        self.input_rate = RateMeter(window_s)
        self.output_rate = RateMeter(window_s)
        self.latency_ms = Percentiles()
        self.stage_ms: dict[str, Percentiles] = {}
        self.last_error = ""
        self.lasting_errors: dict[str, str] = {}  # key -> what is wrong until it is cleared
        self._troubled_at_last_level = 0
        self._lock = threading.Lock()

    def count(self, name: str, n: int = 1, error: str | None = None) -> None:
        with self._lock:
            self.counts[name] += n
            if error is not None:
                self.last_error = f"{name}: {error}"[:300]

    def set_lasting_error(self, key: str, error: str) -> None:
        """A condition that persists (a parameter refused at start-up): ERROR until cleared."""
        with self._lock:
            self.lasting_errors[key] = error
            self.last_error = f"{key}: {error}"[:300]

    def clear_lasting_error(self, key: str) -> None:
        with self._lock:
            self.lasting_errors.pop(key, None)

    def frame_received(self, now_s: float | None = None) -> None:
        with self._lock:
            self.counts["received"] += 1
            self.input_rate.tick(time.monotonic() if now_s is None else now_s)

    def frame_published(self, latency_ms: float, stages_ms: dict[str, float] | None = None,
                        now_s: float | None = None) -> None:
        """One frame went out; `latency_ms` runs from receipt to the end of publishing."""
        with self._lock:
            self.counts["published"] += 1
            self.output_rate.tick(time.monotonic() if now_s is None else now_s)
            self.latency_ms.add(latency_ms)
            for stage, ms in (stages_ms or {}).items():
                self.stage_ms.setdefault(stage, Percentiles()).add(ms)

    def snapshot(self, now_s: float | None = None) -> dict[str, str]:
        """Key/value strings for a DiagnosticStatus (values formatted, units in the keys)."""
        now_s = time.monotonic() if now_s is None else now_s
        with self._lock:
            p = self.latency_ms.percentiles()
            values: dict[str, str] = {
                "backend": self.backend,
                "input_rate_hz": f"{self.input_rate.rate_hz(now_s):.2f}",
                "output_rate_hz": f"{self.output_rate.rate_hz(now_s):.2f}",
                "latency_p50_ms": f"{p[50]:.2f}",
                "latency_p95_ms": f"{p[95]:.2f}",
                "latency_p99_ms": f"{p[99]:.2f}",
                "latency_mean_ms": f"{self.latency_ms.mean():.2f}",
            }
            for stage, samples in sorted(self.stage_ms.items()):
                values[f"{stage}_mean_ms"] = f"{samples.mean():.2f}"
            for name in COUNTERS:
                values[name] = str(self.counts[name])
            values.update({k: str(v) for k, v in sorted(self.counts.items()) if k not in values})
            received = self.counts["received"]
            values["drop_rate"] = f"{self.counts['dropped'] / received:.4f}" if received else "0.0000"
            values["last_error"] = self.last_error
            values["lasting_errors"] = "; ".join(f"{k}: {v}" for k, v in sorted(self.lasting_errors.items()))
        return values

    def level(self) -> int:
        """diagnostic_msgs level: 2 (ERROR) while a lasting error stands, 1 (WARN) if bad input or
        errors arrived since the last call, else 0."""
        with self._lock:
            troubled = sum(self.counts[name] for name in TROUBLE)
            level = 1 if troubled > self._troubled_at_last_level else 0
            self._troubled_at_last_level = troubled
            return 2 if self.lasting_errors else level


class DegradedStatus:
    """Whether the segmentation's own confidence says it is degraded, with hysteresis.

    Per frame it takes the uint8 winning-class confidence (0..255) and keeps the figures of the
    last `window` frames: the mean confidence (0..1) and the share of pixels below
    `low_confidence`. Degraded when the mean falls below `min_mean` or the share rises above
    `max_low_share`; back to OK only once both are `margin` on the good side of their
    thresholds, so a figure hovering at a threshold does not flap.

        >>> d = DegradedStatus(min_mean=0.5, low_confidence=0.4, max_low_share=0.3, window=1)
        >>> d.update(np.full((2, 2), 64, np.uint8)), d.degraded
        (True, True)
    """

    def __init__(self, min_mean: float, low_confidence: float, max_low_share: float,
                 window: int = 5, margin: float = 0.05) -> None:
        self.min_mean, self.low_confidence, self.max_low_share = min_mean, low_confidence, max_low_share
        self.margin = margin
        self.degraded = False
        self.changes = 0  # OK -> degraded transitions
        self._means: deque[float] = deque(maxlen=window)
        self._shares: deque[float] = deque(maxlen=window)
        self._lock = threading.Lock()

    def update(self, confidence: np.ndarray) -> bool:
        """One frame's (H, W) uint8 confidence; returns whether the status is now degraded."""
        mean = float(confidence.mean()) / 255.0
        # a pixel is low when conf/255 < low_confidence, i.e. conf < 255 * low_confidence
        share = float(np.count_nonzero(confidence < 255.0 * self.low_confidence)) / max(confidence.size, 1)
        with self._lock:
            self._means.append(mean)
            self._shares.append(share)
            mean, share = float(np.mean(self._means)), float(np.mean(self._shares))
            if not self.degraded and (mean < self.min_mean or share > self.max_low_share):
                self.degraded, self.changes = True, self.changes + 1
            elif self.degraded and mean >= self.min_mean + self.margin \
                    and share <= self.max_low_share - self.margin:
                self.degraded = False
            return self.degraded

    def figures(self) -> dict[str, str]:
        """Key/values for the diagnostics status (what the decision was made on)."""
        with self._lock:
            mean = float(np.mean(self._means)) if self._means else float("nan")
            share = float(np.mean(self._shares)) if self._shares else float("nan")
            return {"degraded": str(self.degraded), "mean_confidence": f"{mean:.3f}",
                    "low_confidence_share": f"{share:.3f}", "degraded_episodes": str(self.changes),
                    "degraded_mean_confidence": f"{self.min_mean:.3f}",
                    "degraded_low_share": f"{self.max_low_share:.3f}",
                    "low_confidence_threshold": f"{self.low_confidence:.3f}"}

    def message(self) -> str:
        """One line for the status message when degraded."""
        f = self.figures()
        return (f"degraded: mean confidence {f['mean_confidence']} (min {f['degraded_mean_confidence']}), "
                f"{f['low_confidence_share']} of pixels below {f['low_confidence_threshold']} "
                f"(max {f['degraded_low_share']})")
