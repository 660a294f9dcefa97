"""replay_eval end to end: a generated bag with known ground truth, played into a real
segmentation_node process over DDS; mIoU, counts and the output bag checked independently."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from rosbags.highlevel import AnyReader

from rain_seg_ros.codec import array_to_image_fields
from rain_seg_ros.replay.bag_io import image_message, write_bag
from rain_seg_ros.replay.replay_eval import main

from .ros_fixtures import BAND_CLASSES, BAND_COLOURS, band_interior, write_band_segmenter

pytestmark = pytest.mark.ros
H, W, N = 48, 64, 6
T0 = 1_700_000_000_000_000_000


def frame_and_truth(i: int) -> tuple[np.ndarray, np.ndarray]:
    """Frame i: the three colour bands in a frame-dependent order; truth: their classes, 255 near edges."""
    order = np.roll(np.arange(3), i)
    rgb = np.zeros((H, W, 3), np.uint8)
    truth = np.full((H, W), 255, np.uint8)
    edges = np.linspace(0, W, 4).astype(int)
    for k, band in enumerate(order):
        rgb[:, edges[k]:edges[k + 1]] = BAND_COLOURS[band]
        truth[:, edges[k]:edges[k + 1]] = BAND_CLASSES[band]
    truth[~band_interior(H, W)] = 255
    return rgb, truth


def make_bag(path: Path, storage: str) -> list[int]:
    stamps = [T0 + i * 100_000_000 for i in range(N)]
    images, gts = [], []
    for i, stamp in enumerate(stamps):
        rgb, truth = frame_and_truth(i)
        images.append((stamp, image_message(stamp, "cam", array_to_image_fields(rgb, "rgb8"))))
        gts.append((stamp, image_message(stamp, "cam", array_to_image_fields(truth, "mono8"))))
    write_bag(path, {"/camera/image": images, "/camera/gt": gts}, storage=storage)
    return stamps


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_band_segmenter(tmp_path_factory.mktemp("model") / "band.onnx")


def test_replay_mcap_with_gt_topic_as_fast_as_possible(tmp_path, model):
    make_bag(tmp_path / "drive", "mcap")
    out = tmp_path / "report"
    rc = main([str(tmp_path / "drive"), "--image-topic", "/camera/image", "--gt-topic", "/camera/gt",
               "--rate", "0", "--model", str(model), "--backend", "onnxruntime", "--out", str(out)])
    assert rc == 0
    report = json.loads((out / "report.json").read_text())
    assert report["run"]["frames_sent"] == N and report["run"]["masks_received"] == N
    assert report["run"]["drop_rate"] == 0 and report["run"]["output_fps"] > 0
    assert report["scores"]["miou"] == pytest.approx(1.0) and report["scores"]["frames_scored"] == N
    lat = report["latency_ms"]
    assert 0 < lat["p50"] <= lat["p95"] <= lat["p99"]
    breakdown = report["breakdown_ms"]
    assert breakdown["infer"] > 0 and breakdown["decode"] > 0
    assert breakdown["total"] == pytest.approx(lat["mean"])
    markdown = (out / "report.md").read_text()
    assert "mIoU 1.0000" in markdown and "| transport |" in markdown
    assert f"Frames that reached segmentation_node: {N} of {N}" in markdown
    assert report["host_stalls"]["longest_ms"] >= 0 and "Replay process scheduling" in markdown
    assert (out / "latency.png").stat().st_size > 0 and (out / "iou_per_class.png").stat().st_size > 0
    with AnyReader([out / "masks_bag"]) as reader:
        counts = {c.topic: c.msgcount for c in reader.connections}
        assert counts == {"/replay/image": N, "/replay/mask": N, "/replay/color_mask": N}
        masks = [c for c in reader.connections if c.topic == "/replay/mask"]
        for connection, _, raw in reader.messages(masks):
            msg = reader.deserialize(raw, connection.msgtype)
            stamp = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
            _, truth = frame_and_truth((stamp - T0) // 100_000_000)
            mask = np.asarray(msg.data).reshape(H, W)
            np.testing.assert_array_equal(mask[truth != 255], truth[truth != 255])


def test_replay_sqlite_with_label_folder_at_recorded_rate(tmp_path, model):
    stamps = make_bag(tmp_path / "drive", "sqlite3")
    labels = tmp_path / "labels"
    labels.mkdir()
    inter, union = np.zeros(19), np.zeros(19)
    for i, stamp in enumerate(stamps):
        _, truth = frame_and_truth(i)
        gt = truth.copy()
        if i == 2:  # a labelling error the score must show: left band marked as class 13 (car)
            gt[:, : W // 3][truth[:, : W // 3] != 255] = 13
        cv2.imwrite(str(labels / f"{stamp}.png"), gt)
        valid = gt != 255
        for c in range(19):  # independent reference: IoU from boolean masks, prediction = truth
            inter[c] += ((truth == c) & (gt == c) & valid).sum()
            union[c] += (((truth == c) | (gt == c)) & valid).sum()
    expected = np.mean(inter[union > 0] / union[union > 0])
    out = tmp_path / "report"
    rc = main([str(tmp_path / "drive"), "--image-topic", "/camera/image", "--gt-dir", str(labels),
               "--rate", "1", "--model", str(model), "--backend", "onnxruntime", "--out", str(out),
               "--no-bag"])
    assert rc == 0
    report = json.loads((out / "report.json").read_text())
    assert report["run"]["masks_received"] == N
    assert report["scores"]["miou"] == pytest.approx(expected) and expected < 0.95
    assert not (out / "masks_bag").exists()


def test_replay_fails_cleanly_without_the_topic(tmp_path, capsys):
    make_bag(tmp_path / "drive", "mcap")
    assert main([str(tmp_path / "drive"), "--image-topic", "/nope", "--out", str(tmp_path / "r")]) == 1
    assert "--image-topic /nope: not in" in capsys.readouterr().err


def test_frames_the_node_rejects_are_reported_apart_from_drops(tmp_path, model):
    """Frames 1 and 4 carry half their pixel data: segmentation_node rejects them as bad frames
    (counted in its diagnostics) and they must show as rejected, not as dropped."""
    bad = {1, 4}
    stamps = [T0 + i * 100_000_000 for i in range(N)]
    images = []
    for i, stamp in enumerate(stamps):
        msg = image_message(stamp, "cam", array_to_image_fields(frame_and_truth(i)[0], "rgb8"))
        if i in bad:
            msg.data = msg.data[: msg.data.size // 2]
        images.append((stamp, msg))
    write_bag(tmp_path / "drive", {"/camera/image": images}, storage="mcap")
    out = tmp_path / "report"
    rc = main([str(tmp_path / "drive"), "--image-topic", "/camera/image", "--rate", "0",
               "--frame-timeout-s", "0.5", "--drain-s", "0.5", "--model", str(model),
               "--backend", "onnxruntime", "--out", str(out), "--no-bag"])
    assert rc == 0
    run = json.loads((out / "report.json").read_text())["run"]
    good = N - len(bad)
    assert (run["frames_sent"], run["masks_received"]) == (N, good)
    assert (run["rejected"], run["dropped"]) == (len(bad), 0)
    assert run["drop_rate"] == 0
    markdown = (out / "report.md").read_text()
    assert f"| {N} | {good} | {len(bad)} | 0 | 0.000 |" in markdown
    assert f"rejected as bad (not counted as dropped): {len(bad)}" in markdown


def test_smoothing_options_reach_the_node(monkeypatch: pytest.MonkeyPatch):
    """--smoothing-* become the started node's parameters; unset ones are left to the node."""
    from rain_seg_ros.replay import replay_eval

    started: list[list[str]] = []
    monkeypatch.setattr(replay_eval.subprocess, "Popen", lambda cmd, **kw: started.append(cmd))
    base = ["bag", "--out", "o", "--model", "m.onnx", "--image-topic", "/camera/image"]
    flags = ["--smoothing-alpha", "0.9", "--smoothing-keep-below", "0.45",
             "--smoothing-reset-difference", "20", "--smoothing-flow", "true",
             "--smoothing-flow-method", "dis_fast", "--smoothing-flow-width", "256"]
    replay_eval.start_graph(replay_eval.build_parser().parse_args(base + flags))
    replay_eval.start_graph(replay_eval.build_parser().parse_args(base))
    params = [{cmd[i + 1] for i, a in enumerate(cmd) if a == "--param"} for cmd in started]
    assert {"smoothing_alpha=0.9", "smoothing_keep_below=0.45", "smoothing_reset_difference=20.0",
            "smoothing_flow=true", "smoothing_flow_method=dis_fast", "smoothing_flow_width=256"} <= params[0]
    assert not any(p.startswith("smoothing") for p in params[1])
