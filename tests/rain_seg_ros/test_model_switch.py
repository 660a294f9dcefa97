"""ModelSwitcher hysteresis and the models map parsing (ROS-free)."""

from __future__ import annotations

import pytest

from rain_seg_ros.nodes.model_switch import DEFAULT, ModelSwitcher, Switch, model_for, parse_models


def test_switches_on_the_nth_consecutive_estimate_and_not_before():
    s = ModelSwitcher({DEFAULT, "rain", "night"}, hold_frames=3)
    seq = ["clear", "rain", "rain", "clear", "rain", "rain", "rain", "rain"]
    got = [s.update(c) for c in seq]
    # the run of rain at frames 1-2 is broken by clear at 3; the next run completes at frame 6
    assert got[:6] == [None] * 6
    assert got[6] == Switch(frame=6, old=DEFAULT, new="rain", condition="rain")
    assert got[7] is None and s.active == "rain" and s.switches == 1
    for _ in range(2):
        assert s.update("night") is None
    assert s.update("night") == Switch(frame=10, old="rain", new="night", condition="night")
    assert list(s.log) == [got[6], Switch(10, "rain", "night", "night")]


def test_a_run_interrupted_by_another_model_starts_over():
    s = ModelSwitcher({DEFAULT, "rain", "night"}, hold_frames=2)
    assert [s.update(c) for c in ("rain", "night", "rain", "night")] == [None] * 4
    assert s.active == DEFAULT
    assert s.update("night") is not None and s.active == "night"


def test_hold_one_switches_at_once():
    s = ModelSwitcher({DEFAULT, "night"}, hold_frames=1)
    assert s.update("night") == Switch(0, DEFAULT, "night", "night")
    assert s.update("clear") == Switch(1, "night", DEFAULT, "clear")


def test_fallbacks_and_flicker_between_conditions_sharing_a_model():
    assert model_for("rain+night", {DEFAULT, "night", "rain"}) == "night"
    assert model_for("rain+night", {DEFAULT, "rain"}) == "rain"
    assert model_for("rain+night", {DEFAULT, "rain+night", "night"}) == "rain+night"
    assert model_for("clear", {DEFAULT, "rain"}) == DEFAULT
    assert model_for("clear", {DEFAULT, "clear"}) == "clear"
    s = ModelSwitcher({DEFAULT, "night"}, hold_frames=2)
    for c in ("night", "rain+night"):   # both want the night model: one run
        s.update(c)
    assert s.active == "night"
    for c in ("rain+night", "night", "rain+night", "night"):
        assert s.update(c) is None
    assert s.switches == 1


def test_parse_models_reports_each_bad_entry():
    models, problems = parse_models(["rain:/m/rain.onnx", "night: C:/m/n.onnx", "fog:/x.onnx",
                                     "rain:/other.onnx", "clear:", "nocolon"])
    assert models == {"rain": "/m/rain.onnx", "night": "C:/m/n.onnx"}
    assert len(problems) == 4
    assert any("'fog:/x.onnx'" in p for p in problems) and any("twice" in p for p in problems)


def test_hold_frames_must_be_positive():
    with pytest.raises(ValueError, match="hold_frames"):
        ModelSwitcher({DEFAULT}, hold_frames=0)
