"""segmentation_node with a condition estimator over real DDS (loopback, own domain): the model
switch after switch_hold_frames estimates and not before, `~/condition` (header and values
against the numpy formula of the stand-in estimator), the degraded WARN and its recovery, and
a missing or foreign condition model (one clear error, the default model serves)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rclpy.parameter import Parameter
from sensor_msgs.msg import Image

from rain_seg_ros.codec import image_to_array
from rain_seg_ros.labels import IMAGENET_MEAN, IMAGENET_STD
from rain_seg_ros.nodes.segmentation_node import SegmentationNode

from .condition_node_fixtures import (
    STRIPES,
    band_labels,
    condition_frame,
    condition_outputs,
    write_band_model,
    write_stripe_condition,
)
from .ros_fixtures import (
    RELIABLE,
    InProcessGraph,
    Probe,
    band_frame,
    band_interior,
    by_stamp,
    frame_msg,
    reference_mask,
    wait_matched,
)

pytestmark = pytest.mark.ros
CLEAR_CLASSES, RAIN_CLASSES = (0, 8, 10), (10, 8, 0)   # the rain model swaps road and sky
HOLD = 3
BASE = {"backend": "onnxruntime", "device": "cpu", "qos_reliability": "reliable", "qos_depth": 10}


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("cond")
    return {"clear": write_band_model(d / "clear.onnx", CLEAR_CLASSES),
            "rain": write_band_model(d / "rain.onnx", RAIN_CLASSES),
            "condition": write_stripe_condition(d / "condition.onnx")}


def _node(g: InProcessGraph, ns: str, **params) -> SegmentationNode:
    values = {**BASE, **params}
    return g.add(SegmentationNode(context=g.context, namespace=ns,
                                  parameter_overrides=[Parameter(k, value=v) for k, v in values.items()]))


@pytest.fixture(scope="module")
def graph(models: dict[str, Path]):
    g = InProcessGraph()
    g.node = _node(g, "cond", model_path=str(models["clear"]), condition_model_path=str(models["condition"]),
                   models=[f"rain:{models['rain']}"], switch_hold_frames=HOLD, degraded_window_frames=2,
                   degraded_every_frames=1)   # the rule on every frame: test_result_filters.py samples
    g.missing = _node(g, "missing", model_path=str(models["clear"]),
                      condition_model_path=str(models["condition"].parent / "absent.onnx"),
                      models=[f"rain:{models['rain']}"], switch_hold_frames=1)
    g.smooth = _node(g, "smooth", model_path=str(models["clear"]), smoothing_alpha=0.9)
    g.probe = probe = g.add(Probe(g.context))
    for ns in ("cond", "missing", "smooth"):
        probe.listen(Image, f"/{ns}/segmentation_node/mask")
        if ns != "smooth":
            probe.listen(DiagnosticArray, f"/{ns}/segmentation_node/condition")
        g.__dict__[f"pub_{ns}"] = pub = probe.create_publisher(Image, f"/{ns}/image", RELIABLE)
        wait_matched(pub)
    probe.listen(DiagnosticArray, "/diagnostics", 50)
    time.sleep(0.3)
    yield g
    g.close()


def _send(g: InProcessGraph, ns: str, rgb: np.ndarray, sec: int) -> tuple[np.ndarray, DiagnosticArray]:
    """Publish one frame and wait for its mask and ~/condition (matched by stamp)."""
    getattr(g, f"pub_{ns}").publish(frame_msg(rgb, "rgb8", sec, f"cam_{sec}"))
    mask = image_to_array(by_stamp(g.probe, f"/{ns}/segmentation_node/mask", sec))
    return mask, by_stamp(g.probe, f"/{ns}/segmentation_node/condition", sec)


def _served_by(mask: np.ndarray) -> str:
    for name, classes in (("clear", CLEAR_CLASSES), ("rain", RAIN_CLASSES)):
        want = band_labels(classes)
        if np.array_equal(mask[want != 255], want[want != 255]):
            return name
    return "neither"


def test_switches_after_hold_frames_and_publishes_the_condition(graph):
    served, active = [], []
    sequence = ["clear", "clear", "rain", "clear", "rain", "rain", "rain", "rain"]
    for sec, condition in enumerate(sequence, start=100):
        mask, cond = _send(graph, "cond", condition_frame(condition), sec)
        assert cond.header.stamp.sec == sec and cond.header.frame_id == f"cam_{sec}"
        (status,) = cond.status
        values = {kv.key: kv.value for kv in status.values}
        assert values["condition"] == condition and status.level == DiagnosticStatus.OK
        p_rain, p_night, intensity = condition_outputs(STRIPES[condition])
        assert float(values["p_rain"]) == pytest.approx(p_rain, abs=1e-3)
        assert float(values["p_night"]) == pytest.approx(p_night, abs=1e-3)
        assert float(values["intensity"]) == pytest.approx(intensity, abs=1e-3)
        assert float(values["prob_rain"]) == pytest.approx(p_rain * (1 - p_night), abs=1e-3)
        served.append(_served_by(mask))
        active.append(values["active_model"])
    # the rain run at index 2 is broken by clear; the next one completes its 3rd frame at index 6,
    # and that very frame is already served by the rain model
    assert served == ["clear"] * 6 + ["rain"] * 2
    assert active == ["default"] * 6 + ["rain"] * 2
    assert graph.node.router.switcher.switches == 1 and graph.node.stats.counts["model_switches"] == 1
    assert graph.node.router.switcher.log[0].frame == 6


def _node_status(g: InProcessGraph, ns: str, predicate, timeout_s: float = 5.0) -> DiagnosticStatus:
    name = f"/{ns}/segmentation_node"

    def find():
        return next((s for m in reversed(g.probe.received["/diagnostics"]) for s in m.status
                     if s.name == name and predicate(s)), None)
    assert g.probe.wait_for(lambda: find() is not None, timeout_s), f"no matching status of {name}"
    return find()


def test_degraded_warn_and_recovery(graph):
    # the colour whose normalised value is 0 in every channel: all three band classes tie
    grey = np.rint(np.asarray(IMAGENET_MEAN) * 255).astype(np.uint8)
    x = (grey / 255.0 - np.asarray(IMAGENET_MEAN)) / np.asarray(IMAGENET_STD)
    logits = 10.0 * x                                     # the three reachable classes; the others -50
    expected = float(np.floor(255 * np.exp(logits).max() / np.exp(logits).sum())) / 255  # ~1/3
    for sec in (200, 201):
        _send(graph, "cond", np.broadcast_to(grey, (32, 48, 3)).copy(), sec)
    warn = _node_status(graph, "cond", lambda s: s.message.startswith("degraded"))
    values = {kv.key: kv.value for kv in warn.values}
    assert warn.level == DiagnosticStatus.WARN and values["degraded"] == "True"
    assert float(values["mean_confidence"]) == pytest.approx(expected, abs=2 / 255)
    assert float(values["low_confidence_share"]) == 1.0
    graph.probe.received["/diagnostics"].clear()
    for sec in (202, 203):
        _send(graph, "cond", condition_frame("clear"), sec)
    ok = _node_status(graph, "cond", lambda s: s.level == DiagnosticStatus.OK)
    assert {kv.key: kv.value for kv in ok.values}["degraded"] == "False"


def test_missing_condition_model_is_one_clear_error_and_the_default_model_serves(graph, models):
    node = graph.missing
    problem = node.router.problem
    assert "\n" not in problem and "condition_model_path" in problem and "absent.onnx" in problem
    assert "serving model_path" in problem
    for sec in range(300, 303):   # rain frames: with hold 1 an estimator would switch at once
        mask, cond = _send(graph, "missing", condition_frame("rain"), sec)
        assert _served_by(mask) == "clear"
        (status,) = cond.status
        assert status.level == DiagnosticStatus.ERROR and status.message == problem
        assert cond.header.stamp.sec == sec
    err = _node_status(graph, "missing", lambda s: s.level == DiagnosticStatus.ERROR)
    assert "condition_model_path" in {kv.key: kv.value for kv in err.values}["lasting_errors"]


def test_foreign_condition_model_is_refused_in_one_line(graph, models):
    node = _node(graph, "foreign", model_path=str(models["clear"]), condition_model_path=str(models["rain"]))
    assert node.router.estimator is None
    problem = node.router.problem
    assert "\n" not in problem and "not a condition estimator" in problem and "rain.onnx" in problem
    assert node.router.segmenter(node.segmenter) is node.segmenter


def test_smoothing_holds_labels_against_one_contrary_frame(graph):
    """alpha 0.9: after one confident frame, a frame with red and blue swapped (grey difference
    ~31 < 40: same scene) gets 0.1 of the vote and cannot flip the labels; the node without
    smoothing (test above) answers each frame by itself."""
    assert graph.smooth.condition_pub is None   # no condition model: no ~/condition
    first = band_frame(32, 48)
    swapped = first.copy()
    swapped[first[..., 0] == 255], swapped[first[..., 2] == 255] = (0, 0, 255), (255, 0, 0)
    graph.pub_smooth.publish(frame_msg(first, "rgb8", 400, "cam"))
    mask0 = image_to_array(by_stamp(graph.probe, "/smooth/segmentation_node/mask", 400))
    graph.pub_smooth.publish(frame_msg(swapped, "rgb8", 401, "cam"))
    mask1 = image_to_array(by_stamp(graph.probe, "/smooth/segmentation_node/mask", 401))
    inside = band_interior(32, 48)
    np.testing.assert_array_equal(mask0[inside], reference_mask(first)[inside])
    assert not np.array_equal(reference_mask(swapped)[inside], mask0[inside])
    np.testing.assert_array_equal(mask1[inside], mask0[inside])


def test_degraded_rule_alone_asks_the_graph_for_confidence_on_every_fifth_frame(graph):
    node, asked = graph.missing, []        # degraded_status on and degraded_every_frames 5 (defaults)
    real = node.segmenter.segment_batch

    def spy(images, want_confidence=True):
        asked.append(want_confidence)
        return real(images, want_confidence=want_confidence)

    node.segmenter.segment_batch = spy
    try:
        for sec in range(400, 410):        # nobody subscribes to ~/confidence, no smoothing
            _send(graph, "missing", condition_frame("clear"), sec)
    finally:
        node.segmenter.segment_batch = real
    wanted = [i for i, want in enumerate(asked) if want]
    assert len(asked) == 10 and len(wanted) == 2 and wanted[1] - wanted[0] == 5, asked
