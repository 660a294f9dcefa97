"""Training mix and validation sets for the segmenter.

The training set concatenates every `DataSource` (each `repeat` times, or `count` / `ratio`
samples of it): clean sets, rainified copies written by `rainify` (Cityscapes layout),
translated copies written by `translate` (e.g. N CycleGAN night images next to a day set),
real-rain sets. Every sample goes
through the rain augmentation baselines (full frame) and then the joint scale/crop/flip/
jitter transform of training.data.transforms. On-the-fly DSANet rainify happens later, on
the batch, in the training loop (it is a network: it runs on the training device).

Example:
    train_set = build_train_set(cfg)     # ConcatDataset of {"image", "mask", "name"}
    val_set = build_val_set(cfg)         # full-size images, no augmentation
"""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.data import ConcatDataset, Dataset, Subset

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
    opened: list[Dataset] = []
    for source in cfg.train:
        if source.repeat < 1:
            raise ValueError(f"train source {source.root}: repeat must be >= 1, got {source.repeat}")
        if source.count < 0 or source.ratio < 0 or (source.count and source.ratio):
            raise ValueError(f"train source {source.root}: give count >= 0 or ratio >= 0, not both "
                             f"(count={source.count}, ratio={source.ratio})")
        dataset = open_dataset(source, transform)
        if len(dataset) == 0:  # type: ignore[arg-type]
            raise ValueError(f"train source {source.dataset} at {source.root} ({source.split}) is empty")
        opened.append(dataset)
    base = 0   # samples of the sources a ratio is a multiple of
    for dataset, source in zip(opened, cfg.train):
        if not (source.count or source.ratio):
            base += len(dataset) * source.repeat  # type: ignore[arg-type]
    parts: list[Dataset] = []
    for k, (source, dataset) in enumerate(zip(cfg.train, opened)):
        count = source.count or round(source.ratio * base)
        if source.ratio and not base:
            raise ValueError(f"train source {source.root}: ratio needs a source without count or ratio "
                             "to be a multiple of")
        if count:
            parts.append(mixed_subset(dataset, count, seed=cfg.seed * 1_000_003 + k))
        elif not source.ratio:   # a ratio that rounds to 0 samples adds nothing
            parts += [dataset] * source.repeat
    return ConcatDataset(parts)


def mixed_subset(dataset: Dataset, count: int, seed: int) -> Subset:
    """`count` samples of `dataset`: whole copies while count exceeds its size, then a seeded
    subset without repetition (so 2.5 x a set is every image twice and half of them once more)."""
    n = len(dataset)  # type: ignore[arg-type]
    whole, rest = divmod(count, n)
    extra = torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:rest].tolist()
    return Subset(dataset, [i for _ in range(whole) for i in range(n)] + sorted(extra))


def build_val_set(cfg: TrainSegmenterConfig) -> Dataset | None:
    """The validation sets, concatenated, full size and unaugmented; None when not configured."""
    if not cfg.val:
        return None
    return ConcatDataset([open_dataset(source) for source in cfg.val])
