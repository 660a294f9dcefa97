import ctypes
import time

from rain_seg_ros.replay.stall_watch import StallWatch


def test_a_quiet_process_shows_no_stall():
    with StallWatch(period_s=0.005) as watch:
        time.sleep(0.3)
    assert watch.stalls == 0 and watch.summary()["over_100ms"] == 0


def test_a_process_that_is_not_scheduled_shows_the_stall():
    # Holding the GIL for 0.3 s keeps the watch thread from running, as a starved CPU would.
    hold_gil = ctypes.PyDLL(None).usleep  # PyDLL: the GIL stays held during the call
    with StallWatch(period_s=0.005) as watch:
        time.sleep(0.05)
        hold_gil(300_000)
        time.sleep(0.05)
    assert watch.stalls >= 1
    assert 250 <= watch.summary()["longest_ms"] < 2000
