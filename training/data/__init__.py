"""Dataset readers with one sample contract, and joint image+mask transforms.

Samples:
    segmentation: {"image": float32 (3, H, W) in [0, 1], "mask": int64 (H, W) train ids, 255 = ignore,
                   "name": str}  (+ "ref": (3, H, W) with return_ref=True on ACDC / Dark Zurich)
    rain pairs:   {"rainy": float32 (3, H, W) in [0, 1], "clean": float32 (3, H, W) in [0, 1], "name": str}

Example:
    from training.data import build_dataset, DATASET_NAMES
    from training.data.transforms import SegAugmentConfig, build_seg_transform
    ds = build_dataset("cityscapes", "/data/cityscapes", "train",
                       transform=build_seg_transform(SegAugmentConfig(crop_size=(512, 1024))))
"""

from training.data.base import (
    DatasetContentError,
    DatasetLayoutError,
    PairDataset,
    PairItem,
    SegItem,
    SegmentationDataset,
)
from training.data.factory import DATASET_NAMES, build_dataset, is_pair_dataset

__all__ = [
    "DATASET_NAMES",
    "DatasetContentError",
    "DatasetLayoutError",
    "PairDataset",
    "PairItem",
    "SegItem",
    "SegmentationDataset",
    "build_dataset",
    "is_pair_dataset",
]
