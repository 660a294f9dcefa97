"""Day->night or night->day copies of a labelled dataset with a trained CycleGAN generator.

Same contract as `rainify`: the output has the input's layout (Cityscapes: leftImg8bit
translated, gtFine copied; KITTI: image_2 translated; folder: images/ translated; everything
else copied byte for byte), a manifest OUT/translate_manifest.jsonl (source, output,
direction, checkpoint per output), and re-running the same command resumes (outputs are
written atomically, so an existing file is complete and skipped).

With `count`, a seeded subset of that many images is translated (a pure function of the
seed and the image list, so a resumed run picks the same ones); labels are copied for all.

Example:
    gen = load_translator("runs/cyclegan", "day2night")
    translate_dataset(gen, Path("/tmp/scenes/cityscapes"), Path("/tmp/night"), direction="day2night")
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from training.data.copies import copy_others, dataset_files, resume_manifest
from training.dsanet.io import read_image, write_image
from training.engine import checkpoint as ckpt

MANIFEST = "translate_manifest.jsonl"
DIRECTIONS = {"day2night": "gen_g", "night2day": "gen_f"}


@dataclass
class Translator:
    """One generator of a CycleGAN checkpoint, in eval mode: [0, 1] images of any size."""

    net: torch.nn.Module
    direction: str
    source: str          # the checkpoint file, for manifests
    multiple: int        # input sides are padded to a multiple of this

    @torch.no_grad()
    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) in [0, 1] -> (B, 3, H, W) in [0, 1] (reflect-padded to the generator's multiple)."""
        h, w = images.shape[-2:]
        ph, pw = -h % self.multiple, -w % self.multiple
        x = F.pad(images, (0, pw, 0, ph), mode="reflect") if ph or pw else images
        return self.net(x)[..., :h, :w].clamp(0, 1)


def load_translator(checkpoint: str | Path, direction: str, device: str = "cpu") -> Translator:
    """The generator of `direction` ("day2night" = G, "night2day" = F) of a CycleGAN checkpoint.

    Raises:
        CheckpointError: the file is not a CycleGAN checkpoint (one line, what it is instead).
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"--direction must be one of {sorted(DIRECTIONS)}, got {direction!r}")
    _, extra, _ = ckpt.read_metadata(checkpoint)
    if extra.get("task") != "cyclegan":
        raise ckpt.CheckpointError(f"{checkpoint} is a {extra.get('task')!r} checkpoint, not a CycleGAN one "
                                   "(python -m training train-cyclegan writes those)")
    name = DIRECTIONS[direction]
    net = ckpt.load_modules(checkpoint, [name], device=device)[name]
    source = str(ckpt.resolve_checkpoint(checkpoint))
    return Translator(net, direction, source, int(getattr(net, "multiple", 1)))


def pick(images: list[Path], count: int | None, seed: int) -> list[Path]:
    """`count` images chosen by the seed (all when count is None or >= the number), in listed order."""
    if count is None or count >= len(images):
        return images
    if count < 1:
        raise ValueError(f"--count must be >= 1, got {count}")
    chosen = np.random.default_rng(seed).choice(len(images), size=count, replace=False)
    return [images[i] for i in sorted(chosen)]


def translate_dataset(translator: Translator, root: Path, out: Path, *, count: int | None = None,
                      seed: int = 0, progress: bool = True) -> dict[str, int]:
    """Translate the dataset at root into out; returns counts (translated, skipped, copied)."""
    root, out = Path(root).resolve(), Path(out).resolve()
    images, others = dataset_files(root, out)
    images = pick(images, count, seed)
    counts = {"translated": 0, "skipped": 0, "copied": copy_others(others, root, out)}
    manifest = out / MANIFEST
    done = resume_manifest(manifest)
    with open(manifest, "a") as log:
        for path in tqdm(images, desc=translator.direction, unit="img", disable=not progress):
            rel = path.relative_to(root).as_posix()
            dst = out / rel
            if dst.exists():
                counts["skipped"] += 1
            else:
                write_image(dst, translator(read_image(path)[None])[0])
                counts["translated"] += 1
            if rel not in done:
                log.write(json.dumps({"source": rel, "output": rel, "direction": translator.direction,
                                      "checkpoint": translator.source}) + "\n")
                log.flush()
                done.add(rel)
    return counts
