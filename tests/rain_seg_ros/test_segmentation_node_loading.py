"""segmentation_node model loading: what model_path may name, the .pt2 trust switch, the engine
cache parameter's text, and closing the backend only after the inference in progress."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from rclpy.parameter import Parameter

from rain_seg_ros.backends.engine_cache import EngineCache
from rain_seg_ros.nodes.common import ModelLoadError
from rain_seg_ros.nodes.segmentation_node import PARAMS, SegmentationNode
from tests.security.test_pt2 import make_evil_pt2

from .ros_fixtures import InProcessGraph, band_frame, frame_msg, write_band_segmenter
from .runtime_fixtures import seg_artifact, write_conv_onnx, write_conv_pt2

pytestmark = pytest.mark.ros
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def graph():
    g = InProcessGraph()
    yield g
    g.close()


def make_node(graph: InProcessGraph, model: object, **extra: object) -> SegmentationNode:
    values = {"model_path": str(model), "device": "cpu", **extra}
    return SegmentationNode(context=graph.context,
                            parameter_overrides=[Parameter(k, value=v) for k, v in values.items()])


def load_error(graph: InProcessGraph, model: object, **extra: object) -> str:
    with pytest.raises(ModelLoadError) as err:
        make_node(graph, model, **extra)
    message = str(err.value)
    assert "\n" not in message
    return message


def test_model_path_mistakes_say_what_to_do(graph, tmp_path):
    write_conv_onnx(tmp_path / "x.onnx", seg_artifact(8, 16, 4))
    assert load_error(graph, "") == ("parameter model_path is not set: pass -p model_path:=/path/model.onnx "
                                     "(an exported model with its .json sidecar)")
    assert load_error(graph, tmp_path).endswith(
        f"{tmp_path} is a directory: name the exported model file in it (.onnx, .pt2 or .engine)")
    # the sidecar is refused, not quietly swapped for the x.onnx beside it
    assert load_error(graph, tmp_path / "x.json").endswith(
        f"{tmp_path / 'x.json'} is a sidecar: name the model file (x.onnx), not its sidecar")
    message = load_error(graph, tmp_path / "nope.onnx")
    assert message.startswith(f"cannot load segmentation model (model_path '{tmp_path / 'nope.onnx'}'")
    assert message.endswith("does not exist: check the path, or export one with python -m export onnx|pt2")


def test_pt2_needs_trust_pt2_model(graph, tmp_path):
    genuine, evil, marker = tmp_path / "genuine.pt2", tmp_path / "evil.pt2", tmp_path / "MARKER"
    write_conv_pt2(genuine, seg_artifact(8, 16, 4))
    make_evil_pt2(genuine, evil, marker)
    (tmp_path / "evil.json").write_bytes((tmp_path / "genuine.json").read_bytes())
    for backend in ("auto", "torch"):
        assert load_error(graph, evil, backend=backend) == (
            f"cannot load segmentation model: model_path {evil} is a PyTorch program and can run code "
            f"when loaded; set trust_pt2_model:=true only if you trust its source, or export and use "
            f"an .onnx")
    assert not marker.exists()
    node = make_node(graph, genuine, trust_pt2_model=True)
    try:
        assert node.backend_name == "torch"
        mask = node.segmenter.segment(np.zeros((8, 16, 3), np.uint8)).mask
        assert mask.shape == (8, 16)
    finally:
        node.destroy_node()


def test_auto_serves_the_onnx_beside_an_untrusted_pt2(graph, tmp_path):
    marker = tmp_path / "MARKER"
    write_conv_onnx(tmp_path / "m.onnx", seg_artifact(8, 16, 4))
    write_conv_pt2(tmp_path / "genuine.pt2", seg_artifact(8, 16, 4))
    make_evil_pt2(tmp_path / "genuine.pt2", tmp_path / "m.pt2", marker)
    node = make_node(graph, tmp_path / "m.pt2")
    try:
        assert node.backend_name == "onnxruntime"
        assert node.segmenter.runner.model_path == tmp_path / "m.onnx"
    finally:
        node.destroy_node()
    assert not marker.exists()


def test_untrusted_pt2_from_the_command_line_is_one_line_and_runs_nothing(tmp_path):
    """The reported exploit: `segmentation_node model_path:=x.pt2` with only the .pt2 present."""
    marker = tmp_path / "MARKER"
    write_conv_pt2(tmp_path / "genuine.pt2", seg_artifact(8, 16, 4))
    make_evil_pt2(tmp_path / "genuine.pt2", tmp_path / "x.pt2", marker)
    (tmp_path / "x.json").write_bytes((tmp_path / "genuine.json").read_bytes())
    result = subprocess.run(
        [sys.executable, "-m", "rain_seg_ros.nodes.segmentation_node", "--ros-args",
         "-p", f"model_path:={tmp_path / 'x.pt2'}"],
        check=False, capture_output=True, text=True, timeout=60, env=os.environ.copy())
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if "segmentation_node:" in line]
    assert len(errors) == 1 and "set trust_pt2_model:=true only if you trust its source" in errors[0]
    assert "Traceback" not in result.stderr
    assert not marker.exists()


def test_engine_cache_dir_text_matches_the_cache_used(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert EngineCache(None).cache_dir == tmp_path / "rain_seg_ros" / "engines"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert EngineCache(None).cache_dir == Path.home() / ".cache" / "rain_seg_ros" / "engines"
    text = next(p for p in PARAMS if p.name == "engine_cache_dir").description
    assert "$XDG_CACHE_HOME/rain_seg_ros/engines" in text and "~/.cache/rain_seg_ros/engines" in text
    assert "next to the model" not in text


def test_params_file_declares_trust_pt2_model_off():
    params = yaml.safe_load((REPO / "config" / "perception.yaml").read_text())
    seg = params["/**/segmentation_node"]["ros__parameters"]
    declared = {p.name: p.default for p in PARAMS}
    assert seg["trust_pt2_model"] is False and declared["trust_pt2_model"] is False
    assert set(seg) <= set(declared)


class _SlowSegmenter:
    """Wraps the real segmenter; logs when an inference starts/ends and when close() comes."""

    def __init__(self, real: object, infer_s: float) -> None:
        self.real, self.infer_s = real, infer_s
        self.inside = threading.Event()
        self.events: list[str] = []

    def segment_batch(self, images: list[np.ndarray], want_confidence: bool = True) -> object:
        self.events.append("start")
        self.inside.set()
        time.sleep(self.infer_s)
        self.events.append("end")
        return self.real.segment_batch(images, want_confidence=want_confidence)

    def colorize(self, mask: np.ndarray) -> np.ndarray:
        return self.real.colorize(mask)

    def close(self) -> None:
        self.events.append("close")
        self.real.close()


def test_backend_is_closed_only_after_the_inference_in_progress(graph, tmp_path):
    node = make_node(graph, write_band_segmenter(tmp_path / "band.onnx"), backend="onnxruntime")
    slow = _SlowSegmenter(node.segmenter, infer_s=0.6)
    node.segmenter = slow
    # the worker's join gives up long before the inference ends (as it does after 5 s in real use)
    node.worker.stop = functools.partial(node.worker.stop, timeout_s=0.05)
    node.worker.submit((frame_msg(band_frame(32, 48), "rgb8", 1, "cam"), time.monotonic()))
    assert slow.inside.wait(5.0)
    node.destroy_node()
    assert slow.events == ["start", "end", "close"]
    assert node.stats.counts.get("processing_error", 0) == 0


def test_bringup_trust_pt2_flag_reaches_the_node(tmp_path):
    import rclpy

    from rain_seg_ros.nodes.bringup import build_nodes, build_parser

    model = tmp_path / "m.pt2"
    write_conv_pt2(model, seg_artifact(8, 16, 4))
    params = REPO / "config" / "perception.yaml"
    rclpy.init()
    try:
        with pytest.raises(ModelLoadError, match="set trust_pt2_model:=true"):
            build_nodes(build_parser().parse_args(["--params", str(params), "--model", str(model)]))
        nodes = build_nodes(build_parser().parse_args(["--params", str(params), "--model", str(model),
                                                       "--trust-pt2"]))
        assert [n.backend_name for n in nodes] == ["torch"]
        for node in nodes:
            node.destroy_node()
    finally:
        rclpy.try_shutdown()
