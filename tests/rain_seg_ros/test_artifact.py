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


@pytest.mark.parametrize("content, message", [
    (b"[1, 2]", "not a rain_seg_ros sidecar"),                     # JSON, but not an object
    (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),           # nesting past the recursion limit
    (b"\xff\xfe\x00binary", "not valid JSON"),                     # not UTF-8
])
def test_hostile_sidecars_get_one_artifact_error(tmp_path, content, message):
    (tmp_path / "m.json").write_bytes(content)
    with pytest.raises(ArtifactError, match=message) as err:
        load_artifact(tmp_path / "m.onnx")
    assert "\n" not in str(err.value)


def test_wrongly_typed_values_are_a_malformed_sidecar(tmp_path):
    path = write_artifact(seg_artifact(8, 8, 3), tmp_path / "m.onnx")
    data = json.loads(path.read_text())
    data["mean"] = ["a", "b", "c"]
    path.write_text(json.dumps(data))
    with pytest.raises(ArtifactError, match="malformed sidecar"):
        load_artifact(tmp_path / "m.onnx")


def test_an_oversized_sidecar_is_refused_unparsed(tmp_path, monkeypatch):
    import rain_seg_ros.artifact as artifact

    path = write_artifact(seg_artifact(8, 8, 3), tmp_path / "m.onnx")
    monkeypatch.setattr(artifact, "MAX_SIDECAR_BYTES", path.stat().st_size - 1)
    with pytest.raises(ArtifactError, match="re-export the model"):
        load_artifact(tmp_path / "m.onnx")
    monkeypatch.setattr(artifact, "MAX_SIDECAR_BYTES", path.stat().st_size)
    assert load_artifact(tmp_path / "m.onnx").num_classes == 3
