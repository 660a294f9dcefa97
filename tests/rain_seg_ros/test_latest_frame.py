"""LatestFrameWorker (ROS-free): a frame that raises is reported and the thread goes on."""

from __future__ import annotations

import threading
from collections.abc import Callable

from rain_seg_ros.nodes.latest_frame import LatestFrameWorker


def run_two_frames(on_error: Callable[[Exception], None]) -> list[int]:
    """Frame 1 raises, frame 2 is submitted only once frame 1 was taken; returns what was served."""
    served: list[int] = []
    took_first, took_second = threading.Event(), threading.Event()

    def process(item: int) -> None:
        if item == 1:
            took_first.set()
            raise KeyError("not a codec error")
        served.append(item)
        took_second.set()

    worker = LatestFrameWorker(process, on_drop=lambda: None, on_error=on_error)
    worker.start()
    try:
        worker.submit(1)
        assert took_first.wait(5.0)
        worker.submit(2)
        took_second.wait(5.0)
    finally:
        worker.stop()
    return served


def test_worker_reports_any_exception_and_serves_the_next_frame():
    errors: list[Exception] = []
    assert run_two_frames(errors.append) == [2]
    assert len(errors) == 1 and isinstance(errors[0], KeyError)


def test_worker_survives_a_failing_error_handler():
    def broken_handler(err: Exception) -> None:
        raise ValueError("handler")

    assert run_two_frames(broken_handler) == [2]
