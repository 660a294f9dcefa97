"""rain_seg_ros.translate.Translator: uint8 frames in and out, sidecar checks (ROS-free)."""

from __future__ import annotations

import numpy as np
import pytest

from rain_seg_ros.artifact import ArtifactError
from rain_seg_ros.translate import Translator

from .translate_fixtures import expected, write_affine_translator


def test_frame_at_model_size_follows_the_formula(tmp_path):
    model = write_affine_translator(tmp_path / "n2d.onnx", "night2day", scale=1.8, offset=0.05)
    rgb = np.random.default_rng(0).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    with Translator(model, backend="onnxruntime", device="cpu") as tr:
        out = tr(rgb)
        assert tr.direction == "night2day" and tr.name == "onnxruntime"
    assert out.dtype == np.uint8 and out.shape == rgb.shape
    assert np.abs(out.astype(int) - expected(rgb, 1.8, 0.05)).max() <= 1


def test_other_frame_sizes_come_back_at_their_size(tmp_path):
    model = write_affine_translator(tmp_path / "d2n.onnx", "day2night", scale=0.25)
    rgb = np.full((37, 71, 3), (200, 100, 40), np.uint8)     # uniform: resizing cannot change it
    with Translator(model, backend="onnxruntime", device="cpu", direction="day2night") as tr:
        out = tr(rgb)
    assert out.shape == (37, 71, 3)
    assert np.abs(out.astype(int) - expected(rgb, 0.25)).max() <= 1


def test_wrong_models_are_refused_in_one_line(tmp_path):
    seg = write_affine_translator(tmp_path / "seg.onnx", "night2day", 1.0, task="segmentation")
    with pytest.raises(ArtifactError, match="'segmentation' model; a translator needs a CycleGAN generator"):
        Translator(seg, backend="onnxruntime", device="cpu")
    d2n = write_affine_translator(tmp_path / "d2n.onnx", "day2night", 0.5)
    with pytest.raises(ArtifactError, match="translates day2night, not night2day"):
        Translator(d2n, backend="onnxruntime", device="cpu", direction="night2day")
    odd = write_affine_translator(tmp_path / "odd.onnx", "sideways", 0.5)
    with pytest.raises(ArtifactError, match="direction 'sideways'"):
        Translator(odd, backend="onnxruntime", device="cpu")
