"""Joint transforms never misalign image and mask.

The image encodes its own pixel coordinates (R = x, G = y), the mask a scrambled id per 16x16 block
of those coordinates. After any scale / pad / crop / flip, decoding the coordinates from the image
must give the block whose id the mask holds at that pixel.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.utils.data
from hypothesis import given, settings
from hypothesis import strategies as st

from training.data import build_dataset
from training.data.transforms import ResizeSeg, SegAugmentConfig, build_seg_transform

from .data_layouts import write_cityscapes

H, W, BLOCK = 96, 160, 16
BLOCK_VALUES = 4 * np.random.default_rng(0).permutation((H // BLOCK) * (W // BLOCK)) + 1  # sparse ids


def coordinate_pair() -> tuple[np.ndarray, np.ndarray]:
    y, x = np.mgrid[0:H, 0:W]
    image = np.stack([x, y, np.full_like(x, 128)], axis=-1).astype(np.uint8)   # (H, W, 3)
    mask = BLOCK_VALUES[(y // BLOCK) * (W // BLOCK) + x // BLOCK].astype(np.uint8)  # (H, W)
    return image, mask


def check_alignment(image: np.ndarray, mask: np.ndarray) -> int:
    """Assert image/mask agree; return how many interior pixels were checked."""
    padded = mask == 255
    assert (image[padded] == 0).all(), "padding must be black in the image where the mask is ignore"
    assert set(np.unique(mask)) <= set(BLOCK_VALUES.tolist()) | {255}, "mask values were interpolated"
    x_src, y_src = image[..., 0].astype(float), image[..., 1].astype(float)
    # Bilinear (image) and nearest (mask) resampling differ by at most one source pixel, so pixels
    # one pixel or more inside a block must carry that block's id; a 2-pixel shift is caught.
    interior = (~padded & (image[..., 2] > 100) & (x_src % BLOCK >= 1) & (x_src % BLOCK <= BLOCK - 2)
                & (y_src % BLOCK >= 1) & (y_src % BLOCK <= BLOCK - 2))
    block = (y_src // BLOCK).astype(int) * (W // BLOCK) + (x_src // BLOCK).astype(int)
    np.testing.assert_array_equal(mask[interior], BLOCK_VALUES[block[interior]])
    return int(interior.sum())


def test_geometry_keeps_image_and_mask_aligned() -> None:
    config = SegAugmentConfig(crop_size=(64, 96), scale_range=(0.5, 2.0), hflip_p=0.5,
                              brightness=0, contrast=0, saturation=0, hue=0)
    transform = build_seg_transform(config, seed=1)
    image, mask = coordinate_pair()
    flipped = padded = 0
    for _ in range(30):
        out_image, out_mask = transform(image, mask)
        assert out_image.shape == (64, 96, 3) and out_image.dtype == np.uint8
        assert out_mask.shape == (64, 96) and out_mask.dtype == np.uint8
        assert check_alignment(out_image, out_mask) > 100
        row = out_image[32, :, 0].astype(int)
        valid = out_mask[32] != 255
        flipped += np.diff(row[valid]).sum() < 0
        padded += (out_mask == 255).any()
    # The run exercised flips, non-flips and padding (scale 0.5 makes 48x80 < 64x96).
    assert 0 < flipped < 30
    assert padded > 0


def test_photometric_jitter_changes_only_the_image() -> None:
    config = SegAugmentConfig(crop_size=None, scale_range=(1.0, 1.0), hflip_p=0.0, jitter_p=1.0,
                              brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1)
    transform = build_seg_transform(config, seed=2)
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (32, 48, 3), dtype=np.uint8)
    _, mask = coordinate_pair()
    mask = mask[:32, :48]
    changed = 0
    for _ in range(5):
        out_image, out_mask = transform(image, mask)
        np.testing.assert_array_equal(out_mask, mask)
        changed += not np.array_equal(out_image, image)
    assert changed >= 4


def test_eval_resize_uses_nearest_for_the_mask() -> None:
    image, mask = coordinate_pair()
    out_image, out_mask = ResizeSeg((48, 80))(image, mask)
    assert out_image.shape == (48, 80, 3) and out_mask.shape == (48, 80)
    # Nearest-neighbour halving keeps one of the 2x2 source pixels' values, never a blend.
    candidates = np.stack([mask[0::2, 0::2], mask[1::2, 0::2], mask[0::2, 1::2], mask[1::2, 1::2]])
    assert (candidates == out_mask).any(axis=0).all()
    check_alignment(out_image, out_mask)


def test_dataset_applies_transform_to_image_and_mask(tmp_path) -> None:
    write_cityscapes(tmp_path, "train", {"synth": 1}, np.random.default_rng(4))
    transform = build_seg_transform(SegAugmentConfig(crop_size=(8, 8)), seed=0)
    sample = build_dataset("cityscapes", tmp_path, "train", transform=transform)[0]
    assert sample["image"].shape == (3, 8, 8) and sample["mask"].shape == (8, 8)
    assert 0.0 <= float(sample["image"].min()) and float(sample["image"].max()) <= 1.0


class _Repeat(torch.utils.data.Dataset):
    """The same (image, mask) n times through a transform."""

    def __init__(self, transform, n: int) -> None:
        self.transform, self.n = transform, n
        self.image, self.mask = coordinate_pair()

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int):
        image, mask = self.transform(self.image, self.mask)
        return torch.from_numpy(image.copy()), torch.from_numpy(mask.copy())


def test_dataloader_workers_draw_different_augmentations() -> None:
    config = SegAugmentConfig(crop_size=(16, 16), scale_range=(0.5, 2.0),
                              brightness=0, contrast=0, saturation=0, hue=0)
    loader = torch.utils.data.DataLoader(_Repeat(build_seg_transform(config, seed=5), 4), batch_size=1,
                                         num_workers=2, multiprocessing_context="fork")
    crops = [image[0] for image, _ in loader]  # samples 0, 2 from worker 0; 1, 3 from worker 1
    for image, mask in loader:
        check_alignment(image[0].numpy(), mask[0].numpy())
    # Without per-worker reseeding both workers would return identical first crops.
    assert not torch.equal(crops[0], crops[1])


@settings(max_examples=15, deadline=None)
@given(crop_h=st.integers(8, 120), crop_w=st.integers(8, 200), lo=st.floats(0.5, 1.0),
       hi=st.floats(1.0, 2.0), seed=st.integers(0, 2**16))
def test_alignment_holds_for_any_crop_and_scale(crop_h, crop_w, lo, hi, seed) -> None:
    config = SegAugmentConfig(crop_size=(crop_h, crop_w), scale_range=(lo, hi), hflip_p=0.5,
                              brightness=0, contrast=0, saturation=0, hue=0)
    image, mask = coordinate_pair()
    out_image, out_mask = build_seg_transform(config, seed=seed)(image, mask)
    assert out_image.shape == (crop_h, crop_w, 3) and out_mask.shape == (crop_h, crop_w)
    check_alignment(out_image, out_mask)
