"""Notice when this process stopped running Python: a thread that sleeps a short period in a loop
and records how late each wake-up came. A late wake-up means the process was starved (a busy
or paused machine) or another of its threads held the GIL (as rclpy's MultiThreadedExecutor
did, docs/ros.md); latency outliers that coincide with one are not the graph's doing.

    >>> with StallWatch() as watch:
    ...     pass
    >>> sorted(watch.summary())
    ['longest_ms', 'over_100ms', 'period_ms']
"""

from __future__ import annotations

import threading
import time
from typing import Any


class StallWatch:
    def __init__(self, period_s: float = 0.01, threshold_s: float = 0.1) -> None:
        self.period_s = period_s
        self.threshold_s = threshold_s
        self.longest_s = 0.0   # worst wake-up delay beyond the period
        self.stalls = 0        # wake-ups later than threshold_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stall_watch", daemon=True)

    def start(self) -> StallWatch:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def __enter__(self) -> StallWatch:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _run(self) -> None:
        while True:
            before = time.monotonic()
            if self._stop.wait(self.period_s):
                return
            late = time.monotonic() - before - self.period_s
            self.longest_s = max(self.longest_s, late)
            self.stalls += late > self.threshold_s

    def summary(self) -> dict[str, float]:
        return {"period_ms": self.period_s * 1000, "longest_ms": round(self.longest_s * 1000, 2),
                "over_100ms": self.stalls}
