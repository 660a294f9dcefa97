"""The "low_resolution" confidence contract on the host: the graph's (B, h, w) confidence is resized
bilinearly straight to the input size, checked against a numpy bilinear formula on scipy's softmax;
older contracts (full-size confidence) are still resized by nearest as before."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import softmax

from rain_seg_ros.postprocess import segmentation_from_ids
from rain_seg_ros.preprocess import Frame

from .runtime_fixtures import seg_artifact
from .test_postprocess import _nearest_reference


def _bilinear_reference(low: np.ndarray, frame: Frame, model_hw: tuple[int, int]) -> np.ndarray:
    """Pixel-centre bilinear sampling of `low` (at a fraction of the model input) over the frame's
    box, edges clamped, in float64: dst centre -> model input -> low plane."""
    (h, w), (big_h, big_w) = low.shape, model_hw
    top, left, box_h, box_w = frame.box
    sh, sw = frame.src_hw
    y = np.clip((top + (np.arange(sh) + 0.5) * box_h / sh) * h / big_h - 0.5, 0, h - 1)
    x = np.clip((left + (np.arange(sw) + 0.5) * box_w / sw) * w / big_w - 0.5, 0, w - 1)
    y0, x0 = np.floor(y).astype(int), np.floor(x).astype(int)
    y1, x1 = np.minimum(y0 + 1, h - 1), np.minimum(x0 + 1, w - 1)
    fy, fx = (y - y0)[:, None], (x - x0)[None, :]
    p = low.astype(np.float64)
    return ((1 - fy) * ((1 - fx) * p[y0][:, x0] + fx * p[y0][:, x1])
            + fy * ((1 - fx) * p[y1][:, x0] + fx * p[y1][:, x1]))


def _low_outputs(model_hw: tuple[int, int], low_hw: tuple[int, int], seed: int):
    """Random class ids at model size and the low-resolution float 255 * max softmax (scipy) and its
    rounded uint8, as a "low_resolution" graph returns them."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, 5, (1, *model_hw), dtype=np.uint8)
    conf = 255.0 * softmax(rng.normal(size=(5, *low_hw)) * 2, axis=0).max(axis=0)   # (h, w)
    return ids, conf, np.rint(conf).astype(np.uint8)[None]


@pytest.mark.parametrize("src_hw, box, model_hw, resize", [
    ((64, 128), (0, 0, 32, 64), (32, 64), "stretch"),
    ((32, 64), (0, 0, 32, 64), (32, 64), "stretch"),     # camera size = model size: still resized up
    ((32, 64), (8, 0, 16, 32), (32, 32), "letterbox"),    # the padding rows are never sampled
])
def test_low_resolution_confidence_is_resized_bilinearly_to_the_input(src_hw, box, model_hw, resize):
    low_hw = (model_hw[0] // 4, model_hw[1] // 4)
    ids, conf, conf_u8 = _low_outputs(model_hw, low_hw, seed=0)
    art = seg_artifact(*model_hw, 5, resize=resize, extra={"confidence": "low_resolution"})
    frame = Frame(src_hw, box)
    ((mask, out),) = segmentation_from_ids(ids, conf_u8, [frame], art)
    assert mask.shape == out.shape == src_hw and out.dtype == np.uint8
    reference = np.rint(_bilinear_reference(conf, frame, model_hw))
    assert np.abs(out.astype(int) - reference).max() <= 1
    top, left, h, w = box
    np.testing.assert_array_equal(mask, _nearest_reference(ids[0, top:top + h, left:left + w], src_hw))


def test_low_resolution_gate_applies_at_the_input_size():
    ids, _, conf_u8 = _low_outputs((32, 64), (8, 16), seed=1)
    art = seg_artifact(32, 64, 5, extra={"confidence": "low_resolution"})
    ((mask, out),) = segmentation_from_ids(ids, conf_u8, [Frame((64, 128), (0, 0, 32, 64))], art,
                                           min_confidence=0.5)
    low = out < 128                                   # ceil(0.5 * 255)
    assert 0 < low.sum() < low.size
    assert (mask[low] == 255).all()
    np.testing.assert_array_equal(mask[~low], _nearest_reference(ids[0], (64, 128))[~low])


@pytest.mark.parametrize("extra", [{}, {"confidence": "before_upsample"}, {"confidence": "full_resolution"}])
def test_older_contracts_keep_the_full_size_confidence(extra):
    rng = np.random.default_rng(2)
    ids = rng.integers(0, 5, (1, 32, 64), dtype=np.uint8)
    conf = rng.integers(0, 256, (1, 32, 64), dtype=np.uint8)
    art = seg_artifact(32, 64, 5, extra=extra)
    ((mask, out),) = segmentation_from_ids(ids, conf, [Frame((64, 128), (0, 0, 32, 64))], art)
    np.testing.assert_array_equal(out, _nearest_reference(conf[0], (64, 128)))
    with pytest.raises(ValueError, match="does not match the class ids"):    # a low plane is refused
        segmentation_from_ids(ids, conf[:, :8, :16], [Frame((64, 128), (0, 0, 32, 64))], art)


def test_low_resolution_batch_of_cameras_of_different_sizes():
    """Several cameras in one batch: each frame's low plane goes to its own size."""
    rng = np.random.default_rng(3)
    ids = rng.integers(0, 5, (2, 32, 64), dtype=np.uint8)
    conf = 255.0 * softmax(rng.normal(size=(2, 5, 8, 16)) * 2, axis=1).max(axis=1)    # (2, 8, 16)
    art = seg_artifact(32, 64, 5, extra={"confidence": "low_resolution"})
    frames = [Frame((64, 128), (0, 0, 32, 64)), Frame((128, 256), (0, 0, 32, 64))]
    results = segmentation_from_ids(ids, np.rint(conf).astype(np.uint8), frames, art)
    for (mask, out), frame, plane in zip(results, frames, conf):
        assert mask.shape == out.shape == frame.src_hw
        assert np.abs(out.astype(int) - np.rint(_bilinear_reference(plane, frame, (32, 64)))).max() <= 1
