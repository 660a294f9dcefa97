"""Training mix and validation sets for the segmenter.

The training set concatenates every `DataSource` (each `repeat` times): clean sets,
rainified copies written by `rainify` (Cityscapes layout), real-rain sets. Every sample goes
through the rain augmentation baselines (full frame) and then the joint scale/crop/flip/
jitter transform of training.data.transforms. On-the-fly DSANet rainify happens later, on
the batch, in the training loop (it is a network: it runs on the training device).

Example:
    train_set = build_train_set(cfg)     # ConcatDataset of {"image", "mask", "name"}
    val_set = build_val_set(cfg)         # full-size images, no augmentation
"""

from __future__ import annotations

from typing import Any

from torch.utils.data import ConcatDataset, Dataset

from training.segmenter.augment import RandomRainAugment, TrainTransform
from training.segmenter.config import AugmentConfig, DataSource, TrainSegmenterConfig


def open_dataset(source: DataSource, transform: Any = None) -> Dataset:
    """One labelled set through the project's dataset factory."""
    from training.data import build_dataset

    if not source.root:
        raise ValueError(f"data source {source.dataset!r} split {source.split!r} has no root")
    return build_dataset(source.dataset, source.root, source.split, transform=transform, **source.kwargs)


def build_train_transform(aug: AugmentConfig, seed: int | None = None) -> TrainTransform:
    """Rain baselines (as configured) followed by the joint geometric/photometric transform."""
    from training.data.transforms import SegAugmentConfig, build_seg_transform

    rain: list[Any] = []
    if aug.random_rain_p > 0:
        rain.append(RandomRainAugment(p=aug.random_rain_p, seed=seed))
    if aug.physical_rain_p > 0:
        from training.segmenter.physical_rain import PhysicalRainAugment

        lo, hi = aug.physical_rain_intensity
        rain.append(PhysicalRainAugment(p=aug.physical_rain_p, intensity=(lo, hi),
                                        depth=aug.physical_rain_depth, flat_depth_m=aug.flat_depth_m,
                                        seed=seed))
    jitter = 0.25 if aug.color_jitter else 0.0
    joint = build_seg_transform(SegAugmentConfig(
        crop_size=(aug.crop_size[0], aug.crop_size[1]) if aug.crop_size else None,
        scale_range=(aug.scale_range[0], aug.scale_range[1]), hflip_p=aug.hflip_p,
        brightness=jitter, contrast=jitter, saturation=jitter, hue=0.02 if aug.color_jitter else 0.0),
        seed=seed)
    return TrainTransform(joint=joint, rain=rain)


def build_train_set(cfg: TrainSegmenterConfig) -> ConcatDataset:
    if not cfg.train:
        raise ValueError("train: at least one data source is needed")
    transform = build_train_transform(cfg.augment, seed=cfg.seed)
    parts: list[Dataset] = []
    for source in cfg.train:
        if source.repeat < 1:
            raise ValueError(f"train source {source.root}: repeat must be >= 1, got {source.repeat}")
        dataset = open_dataset(source, transform)
        if len(dataset) == 0:  # type: ignore[arg-type]
            raise ValueError(f"train source {source.dataset} at {source.root} ({source.split}) is empty")
        parts += [dataset] * source.repeat
    return ConcatDataset(parts)


def build_val_set(cfg: TrainSegmenterConfig) -> Dataset | None:
    """The validation sets, concatenated, full size and unaugmented; None when not configured."""
    if not cfg.val:
        return None
    return ConcatDataset([open_dataset(source) for source in cfg.val])
