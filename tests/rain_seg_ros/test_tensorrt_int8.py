"""int8 by explicit quantization: what ModelOpt is handed, the Q/DQ graph's sidecar, the engine key.

ModelOpt is not installed here: a stand-in (fake_tensorrt.install_modelopt) records its
arguments and writes a small but real Q/DQ graph, always the same bytes, so that only the
calibration record can tell two calibrations apart.
"""

from __future__ import annotations

import hashlib
import re
import sys

import cv2
import numpy as np
import pytest

from rain_seg_ros.artifact import load_artifact
from rain_seg_ros.backends import open_backend
from rain_seg_ros.backends.base import BackendError
from rain_seg_ros.backends.engine_cache import BuildOptions, Environment, make_key
from rain_seg_ros.backends.tensorrt_calibration import (
    CalibrationBatches,
    normalisation_nodes,
    write_int8_graph,
)
from rain_seg_ros.backends.tensorrt_precision import graph_for_precision, graph_precision

from .fake_tensorrt import install_modelopt
from .runtime_fixtures import (
    MEAN,
    STD,
    conv_weights,
    graph_seg_artifact,
    reference_logits,
    seg_artifact,
    write_conv_graph_onnx,
    write_conv_onnx,
)

ORIN = Environment("10.13.0", "Orin", "8.7")


@pytest.fixture()
def modelopt(monkeypatch):
    return install_modelopt(monkeypatch)


def write_images(folder, seed: int, count: int = 3) -> list[np.ndarray]:
    folder.mkdir(exist_ok=True)
    rng = np.random.default_rng(seed)
    images = [rng.integers(0, 256, (8, 16, 3), dtype=np.uint8) for _ in range(count)]
    for i, rgb in enumerate(images):
        cv2.imwrite(str(folder / f"{i}.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return images


def test_modelopt_calibrates_on_the_preprocessed_images_and_the_hash_reaches_the_key(tmp_path, modelopt):
    source = tmp_path / "seg.onnx"
    write_conv_onnx(source, seg_artifact(8, 16, 3))
    images = write_images(tmp_path / "calib", seed=0)
    artifact = load_artifact(source)
    dest = tmp_path / "seg.int8.onnx"
    batches = CalibrationBatches(tmp_path / "calib", artifact, 1)
    graph = write_int8_graph(source, batches, dest, device_index=1)
    assert graph == dest and graph_precision(dest) == "int8"
    (call,) = modelopt
    # independent reference: numpy normalisation of the RGB pixels, NCHW, sorted file order
    expected = np.stack([((rgb / 255.0 - np.array(MEAN)) / np.array(STD)).transpose(2, 0, 1)
                         for rgb in images]).astype(np.float32)
    np.testing.assert_allclose(call["calibration_data"]["image"], expected, atol=1e-5)
    assert call["quantize_mode"] == "int8" and call["onnx_path"] == str(source)
    assert call["calibration_eps"][0] == "cuda:1"         # calibration on the engine's device
    record = load_artifact(dest).extra
    data = call["calibration_data"]["image"]
    digest = hashlib.sha256(f"{data.dtype.str}{data.shape}".encode() + data.tobytes()).hexdigest()
    assert record["quantization"]["calibration_sha256"] == digest
    assert record["precision_graph"]["source_sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    first_key = make_key(dest, BuildOptions("int8"), ORIN)
    assert first_key.calibration_sha256 == digest
    # same images again: no recalibration; the runtime finds the shipped graph next to the ONNX
    write_int8_graph(source, CalibrationBatches(tmp_path / "calib", artifact, 1), dest)
    assert len(modelopt) == 1
    assert graph_for_precision(source, "int8", tmp_path / "cache") == dest
    # other images: recalibrated; identical graph bytes, yet another engine key
    write_images(tmp_path / "calib", seed=5)
    write_int8_graph(source, CalibrationBatches(tmp_path / "calib", artifact, 1), dest)
    second_key = make_key(dest, BuildOptions("int8"), ORIN)
    assert len(modelopt) == 2 and second_key.onnx_sha256 == first_key.onnx_sha256
    assert second_key.digest() != first_key.digest()


def test_calibration_memory_is_bounded_and_modelopt_missing_is_one_line(tmp_path, monkeypatch):
    source = tmp_path / "seg.onnx"
    write_conv_onnx(source, seg_artifact(8, 16, 3))
    write_images(tmp_path / "calib", seed=0)
    batches = CalibrationBatches(tmp_path / "calib", load_artifact(source), 1)
    with pytest.raises(ValueError, match="--calib-max-images"):
        write_int8_graph(source, batches, tmp_path / "seg.int8.onnx", max_bytes=2 * 3 * 8 * 16 * 4)
    monkeypatch.setitem(sys.modules, "modelopt", None)          # import fails as when not installed
    with pytest.raises(BackendError, match="nvidia-modelopt") as info:
        write_int8_graph(source, batches, tmp_path / "seg.int8.onnx")
    assert "\n" not in str(info.value)
    assert not (tmp_path / "seg.int8.onnx").exists() and list(tmp_path.glob("*.tmp*")) == []


def test_uint8_graph_is_calibrated_on_what_it_takes_uint8_nhwc_in_its_colour_order(tmp_path, modelopt):
    """ModelOpt gets the raw pixels (B, H, W, 3) uint8, here BGR, not normalised float NCHW batches."""
    source = tmp_path / "seg.onnx"
    write_conv_graph_onnx(source, graph_seg_artifact(8, 16, 3, color_order="BGR"))
    images = write_images(tmp_path / "calib", seed=0)
    batches = CalibrationBatches(tmp_path / "calib", load_artifact(source), 1)
    write_int8_graph(source, batches, tmp_path / "seg.int8.onnx")
    (call,) = modelopt
    data = call["calibration_data"]["image"]
    assert data.dtype == np.uint8 and data.shape == (3, 8, 16, 3)
    np.testing.assert_array_equal(data, np.stack(images)[..., ::-1])
    assert call["calibration_shapes"] == "image:1x8x16x3"
    assert call["nodes_to_exclude"] is None          # Cast/Mul/Sub normalisation: no Conv to keep out


def test_the_depthwise_normalisation_conv_is_kept_out_of_int8(tmp_path, modelopt):
    """Exports since ac0affd normalise with a depthwise 1x1 Conv: ModelOpt must not quantize the
    raw 0..255 pixels it reads, only the model's own layers (model_conv here)."""
    source = tmp_path / "seg.onnx"
    write_conv_graph_onnx(source, graph_seg_artifact(8, 16, 3), depthwise=True)
    assert normalisation_nodes(source) == ["normalise"]
    write_images(tmp_path / "calib", seed=0)
    write_int8_graph(source, CalibrationBatches(tmp_path / "calib", load_artifact(source), 1),
                     tmp_path / "seg.int8.onnx")
    (call,) = modelopt
    assert call["nodes_to_exclude"] == ["^normalise$"]
    assert not any(re.match(p, "model_conv") for p in call["nodes_to_exclude"])
    with open_backend(source, backend="onnxruntime", device="cpu") as graph:   # the fixture is sound
        rgb = np.random.default_rng(3).integers(0, 256, (8, 16, 3), dtype=np.uint8)
        ids = graph.run([rgb[None]], ["mask"])[0][0]
    weight, bias = conv_weights(3, 0)
    np.testing.assert_array_equal(ids, reference_logits(rgb, weight, bias).argmax(0))
    write_conv_onnx(tmp_path / "float.onnx", seg_artifact(8, 16, 3))
    assert normalisation_nodes(tmp_path / "float.onnx") == []


def test_multi_input_graphs_are_not_calibrated(tmp_path):
    artifact = graph_seg_artifact(8, 16, 3, contract="image_u8", task="dsanet")
    write_images(tmp_path / "calib", seed=0)
    with pytest.raises(ValueError, match="one-input segmentation graphs"):
        CalibrationBatches(tmp_path / "calib", artifact, 1)
