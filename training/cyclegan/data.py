"""Unpaired day and night images: where they come from, how twins are kept apart, and the
step-indexed batches that make resume exact.

Sources (DataConfig.source): two folders, a generate-scenes output (clean day and night
twins), BDD100K (timeofday daytime / night) or Dark Zurich (day / night drives with
night -> day correspondences). A twin is the same scene seen in both domains; CycleGAN must
learn from unpaired data, so every twin key is given to ONE domain (half of the twins to
each, chosen by a hash of the key) and its other image is left out. No twin pair can then
appear together, in a batch or at all.

The batch of step s is a pure function of (seed, s, rank): each domain walks its own
seeded permutations (independently of the other), and each crop/flip has its own seed.

Example:
    day, night = find_domains(cfg.data)
    sampler = UnpairedBatchSampler(len(day), len(night), 1, seed=0, start_step=0, steps=100)
    loader = DataLoader(UnpairedCrops(day, night, crop=(256, 256)), batch_sampler=sampler)
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset, Sampler

from training.cyclegan.config import DataConfig
from training.data.base import image_size
from training.dsanet.io import IMAGE_SUFFIXES, read_image


@dataclass(frozen=True)
class DomainImage:
    path: Path
    twin: str = ""   # key shared with the same scene in the other domain; "" = no twin


def _folder(root: str, what: str) -> list[Path]:
    path = Path(root)
    if not root or not path.is_dir():
        raise FileNotFoundError(f"{what} {root!r} is not a folder; set {what}=DIR (a folder of images)")
    images = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise FileNotFoundError(f"{what} {root}: no images ({', '.join(IMAGE_SUFFIXES)}) under it")
    return images


def _scenes(cfg: DataConfig) -> tuple[list[DomainImage], list[DomainImage]]:
    root = Path(cfg.root)
    day_dir = root / "cityscapes" / "leftImg8bit" / cfg.split
    night_dir = root / "cityscapes_night" / "leftImg8bit" / cfg.split
    if not day_dir.is_dir():
        raise FileNotFoundError(f"data.root {root}: no {day_dir.relative_to(root)} (expected a "
                                "generate-scenes output); check data.root and data.split")
    if not night_dir.is_dir():
        raise FileNotFoundError(f"data.root {root} holds only day scenes (no {night_dir.relative_to(root)}): "
                                "generate them with --night, or use data.source=folders")

    def items(folder: Path, what: str) -> list[DomainImage]:   # twin key: the stem shared by twins
        return [DomainImage(p, p.name.removesuffix("_leftImg8bit.png")) for p in _folder(str(folder), what)]
    return items(day_dir, "data.root day images"), items(night_dir, "data.root night images")


def find_domains(cfg: DataConfig) -> tuple[list[DomainImage], list[DomainImage]]:
    """(day images, night images) of the configured source, twins already kept apart."""
    if cfg.source == "folders":
        if Path(cfg.day_root).resolve() == Path(cfg.night_root).resolve():
            raise ValueError(f"data.day_root and data.night_root are the same folder ({cfg.day_root}); "
                             "give one folder of day images and one of night images")
        day_root, night_root = Path(cfg.day_root), Path(cfg.night_root)
        # same relative name in both folders = the same scene (paired data): a twin
        day = [DomainImage(p, p.relative_to(day_root).with_suffix("").as_posix())
               for p in _folder(cfg.day_root, "data.day_root")]
        night = [DomainImage(p, p.relative_to(night_root).with_suffix("").as_posix())
                 for p in _folder(cfg.night_root, "data.night_root")]
    elif cfg.source == "scenes":
        day, night = _scenes(cfg)
    elif cfg.source == "bdd100k":
        from training.data.bdd100k import find_bdd100k

        day = [DomainImage(i.image) for i in find_bdd100k(Path(cfg.root), cfg.split, "daytime")[0]]
        night = [DomainImage(i.image) for i in find_bdd100k(Path(cfg.root), cfg.split, "night")[0]]
    else:
        from training.data.dark_zurich import find_dark_zurich

        day = [DomainImage(i.image, str(i.image)) for i in find_dark_zurich(Path(cfg.root), cfg.split, "day")]
        night = [DomainImage(i.image, str(i.ref) if i.ref else "")
                 for i in find_dark_zurich(Path(cfg.root), cfg.split, "night")]
    day, night = separate_twins(day, night)
    for name, images in (("day", day), ("night", night)):
        if not images:
            raise ValueError(f"data.source={cfg.source}: no {name} images left (every one is the twin of "
                             f"an image of the other domain, or there are none); CycleGAN needs both domains")
    return day, night


def separate_twins(day: list[DomainImage], night: list[DomainImage]
                   ) -> tuple[list[DomainImage], list[DomainImage]]:
    """Keep each twin key in one domain only: the shared keys, ordered by a hash of the key
    (stable across runs, unrelated to file order), go alternately to day and to night."""
    shared = sorted({d.twin for d in day} & {n.twin for n in night} - {""},
                    key=lambda k: (zlib.crc32(k.encode()), k))
    to_day, twins = set(shared[0::2]), set(shared)
    day = [d for d in day if d.twin not in twins or d.twin in to_day]
    night = [n for n in night if n.twin not in to_day]
    return day, night


def check_sizes(images: list[DomainImage], crop: tuple[int, int], resize: tuple[int, int] | None,
                what: str) -> None:
    """Refuse, before training, images smaller than the crop (read from headers only)."""
    ch, cw = crop
    if resize is not None:
        if resize[0] < ch or resize[1] < cw:
            raise ValueError(f"data.resize {list(resize)} is smaller than data.crop {list(crop)}")
        return
    small = []
    for item in images:
        h, w = image_size(item.path)
        if h < ch or w < cw:
            small.append((item.path, h, w))
    if small:
        path, h, w = small[0]
        raise ValueError(f"{what} image {path} is {h}x{w}, smaller than data.crop {ch}x{cw} "
                         f"({len(small)} of {len(images)} are); lower data.crop or set data.resize")


class UnpairedCrops(Dataset):
    """Item (day index, night index, sample seed) -> {"day", "night"} random crops, each flipped alone."""

    def __init__(self, day: list[DomainImage], night: list[DomainImage], crop: tuple[int, int],
                 resize: tuple[int, int] | None = None, flip: bool = True):
        self.day, self.night, self.crop, self.resize, self.flip = day, night, crop, resize, flip

    def __len__(self) -> int:
        return max(len(self.day), len(self.night))

    def _load(self, path: Path, rng: np.random.Generator) -> torch.Tensor:
        image = read_image(path)                                    # (3, H, W) in [0, 1]
        if self.resize is not None:
            image = F.interpolate(image[None], size=self.resize, mode="bilinear",
                                  align_corners=False, antialias=True)[0].clamp(0, 1)
        ch, cw = self.crop
        _, h, w = image.shape
        if h < ch or w < cw:
            raise ValueError(f"{path} is {h}x{w}, smaller than data.crop {ch}x{cw}; lower data.crop")
        y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
        image = image[:, y:y + ch, x:x + cw]
        if self.flip and rng.random() < 0.5:
            image = image.flip(-1)
        return image.contiguous()

    def __getitem__(self, key: tuple[int, int, int]) -> dict[str, Any]:
        i_day, i_night, sample_seed = key
        rng = np.random.default_rng(sample_seed)
        day, night = self.day[i_day].path, self.night[i_night].path
        return {"day": self._load(day, rng), "night": self._load(night, rng), "day_name": day.name,
                "night_name": night.name}


class UnpairedBatchSampler(Sampler[list[tuple[int, int, int]]]):
    """This rank's batch for steps start..steps-1 as [(day index, night index, sample seed), ...].

    Each domain is an endless stream of seeded permutations of its own images (epoch e of the
    day stream is seeded by (seed, 0, e), of the night stream by (seed, 1, e)), so the two
    domains are drawn independently and a domain smaller than a batch still works.
    """

    def __init__(self, num_day: int, num_night: int, batch_size: int, *, seed: int, start_step: int,
                 steps: int, rank: int = 0, world_size: int = 1):
        if num_day < 1 or num_night < 1:
            raise ValueError(f"need images in both domains, got {num_day} day and {num_night} night")
        self.sizes, self.bs, self.seed = (num_day, num_night), batch_size, seed
        self.global_batch = batch_size * world_size
        self.start, self.steps, self.rank = start_step, steps, rank
        self._perms: dict[tuple[int, int], torch.Tensor] = {}

    def __len__(self) -> int:
        return max(0, self.steps - self.start)

    def _index(self, domain: int, position: int) -> int:
        n = self.sizes[domain]
        epoch, within = divmod(position, n)
        perm = self._perms.get((domain, epoch))
        if perm is None:
            gen = torch.Generator().manual_seed((self.seed * 1_000_003 + domain) * 1_000_033 + epoch)
            perm = torch.randperm(n, generator=gen)
            self._perms = {k: v for k, v in self._perms.items() if k[0] != domain}   # keep one per domain
            self._perms[(domain, epoch)] = perm
        return int(perm[within])

    def batch(self, step: int) -> list[tuple[int, int, int]]:
        first = step * self.global_batch + self.rank * self.bs
        return [(self._index(0, first + k), self._index(1, first + k),
                 (self.seed * 1_000_003 + step) * 4099 + self.rank * self.bs + k) for k in range(self.bs)]

    def __iter__(self) -> Iterator[list[tuple[int, int, int]]]:
        for step in range(self.start, self.steps):
            yield self.batch(step)
