"""replay_eval checks its inputs before any ROS work: each bad input ends in one line naming
the option and what to do, exit code 1, in well under a second, and no graph is started."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rain_seg_ros.codec import array_to_image_fields
from rain_seg_ros.replay import replay_eval
from rain_seg_ros.replay.bag_io import TYPESTORE, compressed_message, image_message, write_bag

H, W, N = 48, 64, 3
T0 = 1_700_000_000_000_000_000
STAMPS = [T0 + i * 100_000_000 for i in range(N)]


def frames() -> list[tuple[int, Any]]:
    return [(s, image_message(s, "cam", array_to_image_fields(np.full((H, W, 3), 60, np.uint8), "rgb8")))
            for s in STAMPS]


def gt(array: np.ndarray, encoding: str = "mono8") -> list[tuple[int, Any]]:
    return [(s, image_message(s, "cam", array_to_image_fields(array, encoding))) for s in STAMPS]


def truncated_gt() -> list[tuple[int, Any]]:
    """mono8 masks whose data is half of step x height: the message does not decode."""
    out = gt(np.zeros((H, W), np.uint8))
    for _, msg in out:
        msg.data = msg.data[: H * W // 2]
    return out


def string_topic() -> list[tuple[int, Any]]:
    return [(s, TYPESTORE.types["std_msgs/msg/String"](data="hello")) for s in STAMPS]


BAGS = {  # name -> topics besides /camera/image
    "good": lambda: {"/camera/gt": gt(np.zeros((H, W), np.uint8))},
    "chatter": lambda: {"/chatter": string_topic()},
    "gt_rgb8": lambda: {"/camera/gt": gt(np.zeros((H, W, 3), np.uint8), "rgb8")},
    "gt_compressed": lambda: {"/camera/gt": [(s, compressed_message(s, "cam", "png", b"x")) for s in STAMPS]},
    "gt_truncated": lambda: {"/camera/gt": truncated_gt()},
    "gt_small": lambda: {"/camera/gt": gt(np.zeros((H // 2, W // 2), np.uint8))},
}


@pytest.fixture(scope="module")
def bags(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bags")
    for name, extra in BAGS.items():
        write_bag(root / name, {"/camera/image": frames(), **extra()}, storage="mcap")
    return root


@pytest.fixture
def no_replay(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*_args: Any) -> None:
        pytest.fail("the replay (ROS graph) started before the inputs were checked")
    monkeypatch.setattr(replay_eval, "evaluate", fail)


def run(capsys: pytest.CaptureFixture[str], bag: Path, *args: str) -> str:
    start = time.monotonic()
    rc = replay_eval.main([str(bag), "--image-topic", "/camera/image", "--model", "never_loaded.onnx", *args])
    elapsed = time.monotonic() - start
    err = capsys.readouterr().err
    assert rc == 1
    assert elapsed < 5.0, f"took {elapsed:.1f} s to fail"
    assert err.count("\n") == 1 and err.startswith("replay_eval: ") and "Traceback" not in err, err
    return err


@pytest.mark.parametrize(("bag", "args", "expected"), [
    ("good", ["--image-topic", "/nope"], "--image-topic /nope: not in"),
    ("chatter", ["--image-topic", "/chatter"], "--image-topic /chatter: is std_msgs/msg/String"),
    ("good", ["--gt-topic", "/nope"], "--gt-topic /nope: not in"),
    ("chatter", ["--gt-topic", "/chatter"], "--gt-topic /chatter: is std_msgs/msg/String"),
    ("gt_compressed", ["--gt-topic", "/camera/gt"], "is sensor_msgs/msg/CompressedImage"),
    ("gt_rgb8", ["--gt-topic", "/camera/gt"], "encoding 'rgb8'"),
    ("gt_truncated", ["--gt-topic", "/camera/gt"], "does not decode"),
    ("gt_small", ["--gt-topic", "/camera/gt"], f"is {W // 2}x{H // 2}, frames are {W}x{H}"),
])
def test_bad_topic_fails_before_the_replay(bags, capsys, no_replay, tmp_path, bag, args, expected):
    err = run(capsys, bags / bag, "--out", str(tmp_path / "out"), *args)
    assert expected in err
    assert not (tmp_path / "out").exists()  # topic checks come before --out is created


def test_out_that_is_a_file(bags, capsys, no_replay, tmp_path):
    (tmp_path / "report").write_text("not a folder")
    assert "is an existing file" in run(capsys, bags / "good", "--out", str(tmp_path / "report"))


def test_out_that_cannot_be_created(bags, capsys, no_replay, tmp_path):
    (tmp_path / "file").write_text("")
    err = run(capsys, bags / "good", "--out", str(tmp_path / "file" / "report"))
    assert f"--out {tmp_path / 'file' / 'report'}: cannot write there" in err


def test_out_with_an_earlier_output_bag(bags, capsys, no_replay, tmp_path):
    (tmp_path / "masks_bag").mkdir()
    assert "masks_bag exists" in run(capsys, bags / "good", "--out", str(tmp_path))


def test_label_folder_that_does_not_match(bags, capsys, no_replay, tmp_path):
    (tmp_path / "labels").mkdir()
    err = run(capsys, bags / "good", "--gt-dir", str(tmp_path / "labels"), "--out", str(tmp_path / "o"))
    assert "--gt-dir" in err and "no ground truth matches a frame" in err


def test_debug_shows_the_traceback(bags, no_replay, tmp_path):
    with pytest.raises(ValueError, match="--image-topic /nope"):
        replay_eval.main([str(bags / "good"), "--image-topic", "/nope", "--out", str(tmp_path), "--debug"])


def test_good_inputs_reach_the_replay(bags, monkeypatch, tmp_path):
    seen = {}
    monkeypatch.setattr(replay_eval, "evaluate", lambda opts, inputs: seen.setdefault("inputs", inputs)
                        and pytest.skip("stop before rclpy"))
    with pytest.raises(pytest.skip.Exception):
        replay_eval.main([str(bags / "good"), "--image-topic", "/camera/image", "--gt-topic", "/camera/gt",
                          "--out", str(tmp_path / "o")])
    inputs = seen["inputs"]
    assert [m.stamp_ns for m in inputs.frames] == STAMPS
    assert sorted(inputs.gt) == STAMPS and all(m.shape == (H, W) for m in inputs.gt.values())
