"""Preprocessing against independent references: the numpy normalisation formula, torch bilinear."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rain_seg_ros.preprocess import normalize, preprocess, preprocess_u8, resize_to_model

from .runtime_fixtures import MEAN, STD, seg_artifact


def _numpy_normalise(rgb: np.ndarray) -> np.ndarray:
    return ((rgb / 255.0 - np.array(MEAN)) / np.array(STD)).transpose(2, 0, 1)


def test_normalise_matches_formula_and_is_nchw_float32():
    rgb = np.random.default_rng(0).integers(0, 256, (32, 64, 3), dtype=np.uint8)
    batch, frames = preprocess([rgb], seg_artifact(32, 64, 4))
    assert batch.shape == (1, 3, 32, 64) and batch.dtype == np.float32
    np.testing.assert_allclose(batch[0], _numpy_normalise(rgb), atol=1e-5)
    assert frames[0].src_hw == (32, 64) and frames[0].box == (0, 0, 32, 64)


def test_bgr_models_get_reversed_channels_with_matching_statistics():
    rgb = np.random.default_rng(1).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    out = normalize(rgb, seg_artifact(8, 8, 2, color_order="BGR"))
    # a BGR model's channel 0 is blue, normalised with the blue statistics (mean/std are RGB-ordered)
    np.testing.assert_allclose(out, _numpy_normalise(rgb)[::-1], atol=1e-5)


@pytest.mark.parametrize("src", [(64, 128), (20, 30), (100, 50)])
def test_stretch_resize_matches_torch_bilinear(src):
    rgb = np.random.default_rng(2).integers(0, 256, (*src, 3), dtype=np.uint8)
    out, frame = resize_to_model(rgb, seg_artifact(32, 64, 3))
    ref = F.interpolate(torch.from_numpy(rgb).permute(2, 0, 1)[None].double(), size=(32, 64),
                        mode="bilinear", align_corners=False)[0].permute(1, 2, 0).numpy()
    assert out.shape == (32, 64, 3) and frame.box == (0, 0, 32, 64) and frame.src_hw == src
    # cv2 interpolates uint8 in fixed point: within one grey level of the exact value
    assert np.abs(out.astype(np.float64) - ref).max() <= 1.0 + 1e-6


def test_letterbox_keeps_aspect_and_pads_with_mean_colour():
    rgb = np.full((20, 40, 3), 200, dtype=np.uint8)
    art = seg_artifact(32, 32, 3, resize="letterbox")
    batch, frames = preprocess([rgb], art)
    # scale = min(32/20, 32/40) = 0.8 -> content 16 x 32, centred vertically: rows 8..23
    assert frames[0].box == (8, 0, 16, 32)
    content = (200 / 255.0 - np.array(MEAN)) / np.array(STD)
    np.testing.assert_allclose(batch[0, :, 8:24, :], np.broadcast_to(content[:, None, None], (3, 16, 32)),
                               atol=1e-5)
    # padding is the mean colour, i.e. ~0 after normalisation (rounded to a uint8 level)
    assert np.abs(batch[0, :, :8]).max() < 0.5 / 255 / min(STD) + 1e-6
    assert np.abs(batch[0, :, 24:]).max() < 0.5 / 255 / min(STD) + 1e-6


def test_mixed_sizes_batch_and_bad_inputs():
    art = seg_artifact(16, 16, 3)
    images = [np.zeros((16, 16, 3), np.uint8), np.zeros((40, 10, 3), np.uint8)]
    batch, frames = preprocess(images, art)
    assert batch.shape == (2, 3, 16, 16) and [f.src_hw for f in frames] == [(16, 16), (40, 10)]
    with pytest.raises(ValueError, match="uint8"):
        preprocess([np.zeros((16, 16, 3), np.float32)], art)
    with pytest.raises(ValueError, match="uint8"):
        preprocess([np.zeros((16, 16), np.uint8)], art)
    with pytest.raises(ValueError, match="at least one"):
        preprocess([], art)


def test_u8_batch_of_one_frame_at_model_size_is_a_view_and_bgr_is_reversed():
    rng = np.random.default_rng(4)
    rgb = rng.integers(0, 256, (32, 64, 3), dtype=np.uint8)
    batch, frames = preprocess_u8([rgb], seg_artifact(32, 64, 3))
    # no copy into a batch buffer for the common single-camera frame (issue 13's host work)
    assert batch.shape == (1, 32, 64, 3) and np.shares_memory(batch, rgb) and batch.flags.c_contiguous
    assert frames[0].box == (0, 0, 32, 64)
    bgr, _ = preprocess_u8([rgb], seg_artifact(32, 64, 3, color_order="BGR"))
    np.testing.assert_array_equal(bgr[0], rgb[..., ::-1])
    assert not np.shares_memory(bgr, rgb)
    small = rng.integers(0, 256, (16, 32, 3), dtype=np.uint8)   # resized: its own buffer, right size
    resized, _ = preprocess_u8([small], seg_artifact(32, 64, 3))
    pair, _ = preprocess_u8([small, rgb], seg_artifact(32, 64, 3))
    np.testing.assert_array_equal(resized[0], pair[0])
    np.testing.assert_array_equal(pair[1], rgb)
    strided = np.ascontiguousarray(np.concatenate([rgb, rgb], axis=1))[:, ::2]   # non-contiguous input
    assert preprocess_u8([strided], seg_artifact(32, 64, 3))[0].flags.c_contiguous
