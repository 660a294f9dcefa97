"""Step-indexed, seeded batches of rain/clean pairs (what makes resume exact).

The batch of step s is a pure function of (seed, s, rank): the epoch's permutation comes
from a generator seeded with (seed, epoch) and every crop/flip from a per-sample seed. A
resumed run therefore sees exactly the batches the uninterrupted run would have seen,
whatever the number of DataLoader workers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler


class PairCrops(Dataset):
    """Wraps a pair dataset; item (index, sample_seed) -> the pair cropped and flipped alike."""

    def __init__(self, pairs: Any, crop: tuple[int, int], flip: bool = True):
        self.pairs, self.crop, self.flip = pairs, crop, flip

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, key: tuple[int, int]) -> dict[str, Any]:
        index, sample_seed = key
        sample = self.pairs[index]
        rainy, clean = sample["rainy"], sample["clean"]   # (3, H, W) each
        if rainy.shape != clean.shape:
            raise ValueError(f"pair {sample.get('name', index)}: rainy {tuple(rainy.shape)} "
                             f"and clean {tuple(clean.shape)} differ in size")
        ch, cw = self.crop
        _, h, w = rainy.shape
        if h < ch or w < cw:
            raise ValueError(f"pair {sample.get('name', index)} is {h}x{w}, smaller than the "
                             f"crop {ch}x{cw}; lower data.crop")
        rng = np.random.default_rng(sample_seed)
        y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
        rainy, clean = rainy[:, y:y + ch, x:x + cw], clean[:, y:y + ch, x:x + cw]
        if self.flip and rng.random() < 0.5:
            rainy, clean = rainy.flip(-1), clean.flip(-1)
        return {"rainy": rainy.contiguous(), "clean": clean.contiguous(),
                "name": str(sample.get("name", index))}


class StepBatchSampler(Sampler[list[tuple[int, int]]]):
    """Yields this rank's batch for steps start..steps-1 as [(index, sample_seed), ...].

    One global batch per step holds batch_size * world_size samples drawn without
    replacement from the epoch's permutation (the last incomplete batch is dropped).
    """

    def __init__(self, num_samples: int, batch_size: int, *, seed: int, start_step: int, steps: int,
                 rank: int = 0, world_size: int = 1):
        self.global_batch = batch_size * world_size
        if num_samples < self.global_batch:
            raise ValueError(f"dataset has {num_samples} pairs, fewer than one global batch "
                             f"({batch_size} x {world_size} processes)")
        self.n, self.bs, self.seed = num_samples, batch_size, seed
        self.start, self.steps, self.rank = start_step, steps, rank
        self.per_epoch = num_samples // self.global_batch

    def __len__(self) -> int:
        return max(0, self.steps - self.start)

    def batch(self, step: int) -> list[tuple[int, int]]:
        epoch, within = divmod(step, self.per_epoch)
        perm = torch.randperm(self.n, generator=torch.Generator().manual_seed(self.seed * 1_000_003 + epoch))
        lo = within * self.global_batch + self.rank * self.bs
        idx = perm[lo:lo + self.bs].tolist()
        # The crop seed depends on the sample's place in the global batch, not on the rank,
        # so N processes x B pairs see exactly the crops of 1 process x N*B pairs.
        first = self.rank * self.bs
        return [(i, (self.seed * 1_000_003 + step) * 4099 + first + k) for k, i in enumerate(idx)]

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        for step in range(self.start, self.steps):
            yield self.batch(step)
