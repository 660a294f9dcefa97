"""Postprocessing against independent references: scipy softmax and pixel-centre nearest sampling."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import softmax

from rain_seg_ros.postprocess import argmax_confidence, images_from_output, segmentation_from_logits
from rain_seg_ros.preprocess import Frame

from .runtime_fixtures import seg_artifact


def _nearest_reference(plane: np.ndarray, out_hw: tuple[int, int]) -> np.ndarray:
    """Pixel-centre nearest neighbour: dst pixel i samples src floor((i + 0.5) * src / dst)."""
    (h, w), (oh, ow) = plane.shape, out_hw
    rows = np.minimum(((np.arange(oh) + 0.5) * h / oh).astype(int), h - 1)
    cols = np.minimum(((np.arange(ow) + 0.5) * w / ow).astype(int), w - 1)
    return plane[rows[:, None], cols[None, :]]


def test_argmax_and_confidence_match_scipy_softmax():
    logits = np.random.default_rng(0).normal(size=(5, 9, 11)).astype(np.float32) * 4
    labels, conf = argmax_confidence(logits)
    probs = softmax(logits.astype(np.float64), axis=0)
    np.testing.assert_array_equal(labels, probs.argmax(0))
    np.testing.assert_array_equal(conf, np.rint(probs.max(0) * 255).astype(np.uint8))
    assert labels.dtype == np.uint8 and conf.dtype == np.uint8


# sizes where no destination pixel centre falls exactly on a source pixel border (there the
# nearest source pixel is a tie that implementations break either way)
@pytest.mark.parametrize("src_hw", [(64, 128), (48, 192), (16, 32)])
def test_mask_goes_back_to_input_size_by_nearest(src_hw):
    logits = np.random.default_rng(1).normal(size=(1, 6, 16, 32)).astype(np.float32)
    art = seg_artifact(16, 32, 6)
    ((mask, conf),) = segmentation_from_logits(logits, [Frame(src_hw, (0, 0, 16, 32))], art)
    labels = logits[0].argmax(0).astype(np.uint8)
    assert mask.shape == src_hw and conf.shape == src_hw
    np.testing.assert_array_equal(mask, _nearest_reference(labels, src_hw))
    # nearest never invents a class that the low-resolution mask does not contain
    assert set(np.unique(mask)) <= set(np.unique(labels))


def test_letterbox_padding_is_cropped_before_resizing_back():
    logits = np.zeros((1, 2, 32, 32), np.float32)
    logits[0, 1, 8:24] = 5.0            # class 1 exactly on the content rows, class 0 on the padding
    art = seg_artifact(32, 32, 2, resize="letterbox")
    ((mask, _),) = segmentation_from_logits(logits, [Frame((20, 40), (8, 0, 16, 32))], art)
    assert mask.shape == (20, 40) and (mask == 1).all()


def test_low_confidence_pixels_become_ignore_index():
    logits = np.zeros((1, 3, 4, 4), np.float32)
    logits[0, 2, :2] = 10.0             # top half: p ~ 1.0; bottom half: uniform p = 1/3
    art = seg_artifact(4, 4, 3)
    ((mask, conf),) = segmentation_from_logits(logits, [Frame((4, 4), (0, 0, 4, 4))], art, min_confidence=0.5)
    assert (mask[:2] == 2).all() and (mask[2:] == 255).all()
    assert (conf[2:] == 85).all()        # rint(255 / 3)


def test_class_count_mismatch_and_bad_shapes_raise():
    art = seg_artifact(4, 4, 3)
    with pytest.raises(ValueError, match="classes"):
        segmentation_from_logits(np.zeros((1, 4, 4, 4), np.float32), [Frame((4, 4), (0, 0, 4, 4))], art)
    with pytest.raises(ValueError, match="logits"):
        segmentation_from_logits(np.zeros((3, 4, 4), np.float32), [Frame((4, 4), (0, 0, 4, 4))], art)


def test_images_from_output_rounds_clips_and_resizes():
    chw = np.stack([np.full((4, 6), v, np.float32) for v in (-0.5, 0.5, 2.0)])[None]
    (rgb,) = images_from_output(chw, [Frame((8, 12), (0, 0, 4, 6))])
    assert rgb.shape == (8, 12, 3) and rgb.dtype == np.uint8
    assert (rgb[..., 0] == 0).all() and (rgb[..., 1] == 128).all() and (rgb[..., 2] == 255).all()
