"""WeatherModel against a numpy re-computation of DSANet's derain / rainify formulas on a linear stand-in."""

from __future__ import annotations

import numpy as np
import pytest

from rain_seg_ros.artifact import ArtifactError
from rain_seg_ros.weather import WeatherModel

from .runtime_fixtures import write_dsanet_onnx

H, W, C = 16, 32, 8


@pytest.fixture()
def dsanet(tmp_path):
    return tmp_path, write_dsanet_onnx(tmp_path, H, W, C, styles=3)


def _reference(rgb: np.ndarray, weights: dict, rain: str | tuple[float, int]) -> np.ndarray:
    """E = blockmean + linear, rain half replaced, G = linear + nearest x4 + sigmoid; uint8 RGB."""
    x = rgb.astype(np.float64) / 255.0                                    # (H, W, 3)
    pooled = x.reshape(H // 4, 4, W // 4, 4, 3).mean(axis=(1, 3))        # (h, w, 3)
    feat = np.einsum("ck,hwk->chw", weights["we"], pooled)                # (C, h, w)
    if rain == "none":
        feat[C // 2:] = 0.0
    else:
        t, k = rain
        feat[C // 2:] = (1 - t) * feat[C // 2:] + t * weights["bank"][k]
    low = np.einsum("kc,chw->hwk", weights["wg"], feat)                   # (h, w, 3)
    up = np.repeat(np.repeat(low, 4, axis=0), 4, axis=1)
    return np.rint(255.0 / (1.0 + np.exp(-up))).astype(np.uint8)


def test_derain_and_rainify_follow_the_dsanet_formulas(dsanet):
    folder, weights = dsanet
    rgb = np.random.default_rng(0).integers(0, 256, (H, W, 3), dtype=np.uint8)
    with WeatherModel(folder / "dsa_encoder.onnx", backend="onnxruntime", device="cpu") as weather:
        assert weather.num_styles == 3
        derained = weather.derain(rgb)
        rainy = weather.rainify(rgb, intensity=0.6, style=2)
        own = weather.rainify(rgb, intensity=0.0, style=1)
    for out, rain in ((derained, "none"), (rainy, (0.6, 2)), (own, (0.0, 1))):
        assert out.shape == (H, W, 3) and out.dtype == np.uint8
        assert np.abs(out.astype(int) - _reference(rgb, weights, rain)).max() <= 1
    assert np.abs(rainy.astype(int) - derained.astype(int)).max() > 5    # the swap changes the image


def test_output_comes_back_at_the_frame_size(dsanet):
    folder, _ = dsanet
    with WeatherModel(folder / "dsa_encoder.onnx", backend="onnxruntime", device="cpu") as weather:
        assert weather.derain(np.zeros((48, 80, 3), np.uint8)).shape == (48, 80, 3)


def test_bad_arguments_and_incomplete_artifacts(dsanet):
    folder, _ = dsanet
    with WeatherModel(folder / "dsa_encoder.onnx", backend="onnxruntime", device="cpu") as weather:
        with pytest.raises(ValueError, match="intensity"):
            weather.rainify(np.zeros((H, W, 3), np.uint8), intensity=1.5)
        with pytest.raises(ValueError, match="style"):
            weather.rainify(np.zeros((H, W, 3), np.uint8), style=3)
    with pytest.raises(ArtifactError, match="DSANet encoder"):
        WeatherModel(folder / "dsa_generator.onnx", backend="onnxruntime", device="cpu")
    (folder / "dsa_rain_bank.safetensors").unlink()
    with pytest.raises(ArtifactError, match="missing"):
        WeatherModel(folder / "dsa_encoder.onnx", backend="onnxruntime", device="cpu")
