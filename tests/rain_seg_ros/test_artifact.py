"""Sidecar round trip and the errors a broken sidecar must raise."""

from __future__ import annotations

import json

import pytest

from rain_seg_ros.artifact import FORMAT, ArtifactError, load_artifact, sidecar_path, write_artifact

from .runtime_fixtures import seg_artifact


def test_sidecar_path_replaces_model_suffix(tmp_path):
    assert sidecar_path(tmp_path / "m.onnx") == tmp_path / "m.json"
    assert sidecar_path(tmp_path / "m.pt2") == tmp_path / "m.json"
    assert sidecar_path(tmp_path / "m.engine") == tmp_path / "m.json"


def test_round_trip_keeps_every_field(tmp_path):
    art = seg_artifact(32, 64, 5, resize="letterbox", color_order="BGR", extra={"k": 1})
    path = write_artifact(art, tmp_path / "m.onnx")
    data = json.loads(path.read_text())
    assert data["format"] == FORMAT
    assert data["inputs"][0] == {"name": "image", "shape": ["batch", 3, 32, 64], "dtype": "float32"}
    assert data["mean"] == [0.485, 0.456, 0.406]
    back = load_artifact(tmp_path / "m.onnx")
    assert back == art
    assert back.dynamic_batch and back.num_classes == 5 and back.input_size == (32, 64)


def test_missing_sidecar_names_the_export_command(tmp_path):
    with pytest.raises(ArtifactError, match="python -m export"):
        load_artifact(tmp_path / "nothing.onnx")


@pytest.mark.parametrize("change, message", [
    ({"format": "other/1"}, "not a rain_seg_ros sidecar"),
    ({"task": "detection"}, "unknown task"),
    ({"resize": "crop"}, "unknown resize policy"),
    ({"color_order": "YUV"}, "unknown colour order"),
    ({"std": [1.0, 0.0, 1.0]}, "std > 0"),
    ({"surprise": 1}, "unknown keys"),
    ({"inputs": []}, "at least one input"),
])
def test_bad_sidecars_are_rejected(tmp_path, change, message):
    path = write_artifact(seg_artifact(8, 8, 3), tmp_path / "m.onnx")
    data = json.loads(path.read_text())
    data.update(change)
    path.write_text(json.dumps(data))
    with pytest.raises(ArtifactError, match=message):
        load_artifact(tmp_path / "m.onnx")


def test_invalid_json_is_reported(tmp_path):
    (tmp_path / "m.json").write_text("{not json")
    with pytest.raises(ArtifactError, match="not valid JSON"):
        load_artifact(tmp_path / "m.onnx")
