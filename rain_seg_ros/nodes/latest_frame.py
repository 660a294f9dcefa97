"""Worker threads that always process the newest frame (ROS-free, used by both nodes).

The subscription callback only hands the message over; decoding and inference run here so
the executor never blocks. If a frame is still waiting when a newer one arrives, the older
one is dropped and reported through `on_drop` (a node counts it in its diagnostics). Whatever
one batch raises goes to `on_error` and the thread goes on with the next: a thread that died
would leave the node counting received frames and answering none.

`LatestFramesWorker` keeps one slot per source (camera) and hands every pending slot to
`process` at once, so one inference serves all cameras that have a new frame; a camera that
sends nothing is simply absent from the batch and never holds the others back.
`LatestFrameWorker` is the one-source case.

    >>> done = []
    >>> worker = LatestFrameWorker(done.append, on_drop=lambda: None, on_error=print)
    >>> worker.start(); worker.submit(1); worker.stop()
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable, Hashable
from typing import Any


class LatestFramesWorker:
    """One waiting frame per key; `process` receives {key: newest item} of every key with one."""

    def __init__(self, process: Callable[[dict[Any, Any]], None], on_drop: Callable[[Any], None],
                 on_error: Callable[[Exception], None],
                 min_period_s: Callable[[], float] = lambda: 0.0, name: str = "frame_worker") -> None:
        self._process = process
        self._on_drop = on_drop
        self._on_error = on_error
        self._min_period_s = min_period_s  # read each batch: max_rate_hz can change at run time
        self._cond = threading.Condition()
        self._pending: dict[Hashable, Any] = {}
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def submit(self, item: Any, key: Hashable = 0) -> None:
        with self._cond:
            if key in self._pending:
                self._on_drop(key)
            self._pending[key] = item
            self._cond.notify()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Finish the batch in progress (if any), then end the thread."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def _run(self) -> None:
        last_start = -float("inf")
        while True:
            with self._cond:
                while not self._pending and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
            # Rate limit: wait out the period; frames arriving meanwhile replace the waiting ones.
            wait_s = last_start + self._min_period_s() - time.monotonic()
            if wait_s > 0:
                with self._cond:
                    self._cond.wait_for(lambda: self._stopping, timeout=wait_s)
            with self._cond:
                if self._stopping:
                    return
                batch, self._pending = self._pending, {}
            last_start = time.monotonic()
            try:
                self._process(batch)
            except Exception as err:  # noqa: BLE001 - one batch's failure must not end the thread
                self._report(err)

    def _report(self, err: Exception) -> None:
        try:
            self._on_error(err)
        except Exception:  # noqa: BLE001 - reporting failed too: still keep the thread alive
            traceback.print_exc()


class LatestFrameWorker(LatestFramesWorker):
    """One source: `process` receives the newest item itself, `on_drop` takes no argument."""

    def __init__(self, process: Callable[[Any], None], on_drop: Callable[[], None],
                 on_error: Callable[[Exception], None],
                 min_period_s: Callable[[], float] = lambda: 0.0, name: str = "frame_worker") -> None:
        super().__init__(lambda batch: process(batch[0]), lambda _key: on_drop(), on_error,
                         min_period_s=min_period_s, name=name)
