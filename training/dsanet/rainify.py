"""Rainy copies of a labelled dataset, same layout, labels copied, with a manifest.

Layouts (detected from the root):
    cityscapes: ROOT/leftImg8bit/** images are rainified; everything else (gtFine/, ...) copied.
    kitti:      ROOT/**/image_2/** images are rainified; everything else (semantic/, ...) copied.
    folder:     ROOT/images/** images are rainified; everything else (labels/, masks/, ...) copied.
Each output gets one rain style (a reference from the bank) and an intensity in [lo, hi],
both chosen from (seed, relative path) alone, so a resumed run makes the same choices.

Resumable: an output that exists is skipped (outputs are written atomically, so an existing
file is complete); its manifest line is (re)written if missing. Manifest:
OUT/rainify_manifest.jsonl, one JSON object per output: source, output, rain_ref, style,
intensity, checkpoint.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from training.data.copies import copy_others, dataset_files, resume_manifest
from training.dsanet.api import DSANet
from training.dsanet.io import read_image, write_image

MANIFEST = "rainify_manifest.jsonl"


@dataclass(frozen=True)
class Choice:
    style: int
    intensity: float


def choose(seed: int, rel: str, num_styles: int, lo: float, hi: float) -> Choice:
    """Style and intensity of one output, a pure function of (seed, relative path)."""
    rng = np.random.default_rng([seed, zlib.crc32(rel.encode())])
    return Choice(style=int(rng.integers(num_styles)), intensity=round(float(rng.uniform(lo, hi)), 4))


def rainify_dataset(net: DSANet, root: Path, out: Path, codes: torch.Tensor, sources: list[str], *,
                    intensity: tuple[float, float] = (1.0, 1.0), seed: int = 0,
                    progress: bool = True) -> dict[str, int]:
    """Rainify every image of the dataset at root into out; returns counts.

    Args:
        codes: rain codes (K, C/2, h, w) of the K styles; sources: their reference files.
        intensity: (lo, hi) range the per-image intensity is drawn from.
    """
    lo, hi = intensity
    if not 0.0 <= lo <= hi <= 1.0:
        raise ValueError(f"intensity range must satisfy 0 <= lo <= hi <= 1, got {lo},{hi}")
    root, out = Path(root).resolve(), Path(out).resolve()
    images, others = dataset_files(root, out)
    counts = {"copied": copy_others(others, root, out), "rainified": 0, "skipped": 0}
    manifest = out / MANIFEST
    done = resume_manifest(manifest)
    with open(manifest, "a") as log:
        for path in tqdm(images, desc="rainify", unit="img", disable=not progress):
            rel = path.relative_to(root).as_posix()
            dst = out / rel
            c = choose(seed, rel, len(codes), lo, hi)
            if dst.exists():
                counts["skipped"] += 1
            else:
                code = codes[c.style:c.style + 1]               # (1, C/2, h, w)
                rainy = net.rainify_with_codes(read_image(path)[None], code, c.intensity)
                write_image(dst, rainy[0])
                counts["rainified"] += 1
            if rel not in done:
                log.write(json.dumps({"source": rel, "output": rel, "rain_ref": Path(sources[c.style]).name,
                                      "style": c.style, "intensity": c.intensity,
                                      "checkpoint": net.source}) + "\n")
                log.flush()
                done.add(rel)
    return counts
