"""Real procedural rainy/clean twins for the rain detector, and the grey veil and block grids
it must reject.

The detector learns only from generate-scenes output (OUT/cityscapes_rain vs OUT/cityscapes,
same stems), one split for training and another held out: twins share a scene, so holding
out a split holds out scenes. A rainify output (it carries rainify_manifest.jsonl) is refused,
so DSANet output can never reach training.

Example:
    pairs = scene_twins("/tmp/scenes", "train")       # [(rainy path, clean path), ...]
    rainy, clean = load_twins(pairs)                  # uint8 (N, 3, H, W) tensors each
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from training.dsanet.io import list_images, read_image

RAIN_DIR, CLEAN_DIR = "cityscapes_rain", "cityscapes"
RAINIFY_MANIFEST = "rainify_manifest.jsonl"   # written by `rainify`: DSANet output


def scene_twins(root: str | Path, split: str, max_pairs: int | None = None) -> list[tuple[Path, Path]]:
    """(rainy, clean) image paths of one split of a generate-scenes output, sorted by name.

    Raises:
        FileNotFoundError / ValueError: one line naming the folder and what is wrong.
    """
    root = Path(root)
    rain_dir = root / RAIN_DIR / "leftImg8bit" / split
    clean_dir = root / CLEAN_DIR / "leftImg8bit" / split
    for where in (root, root / RAIN_DIR, root / CLEAN_DIR):
        if (where / RAINIFY_MANIFEST).exists():
            raise ValueError(f"{where} holds {RAINIFY_MANIFEST}: that is DSANet output; the rain detector "
                             "trains only on generate-scenes output (data.root=OUT of generate-scenes)")
    if not (root / "manifest.jsonl").is_file():
        raise FileNotFoundError(f"data.root={root}: no manifest.jsonl; give the OUT folder of "
                                "`python -m training generate-scenes`")
    rainy = list_images(rain_dir) if rain_dir.is_dir() else []
    if not rainy:
        raise FileNotFoundError(f"{rain_dir}: no rainy images for split {split!r} (data.*_split)")
    pairs = []
    for path in rainy:
        twin = clean_dir / path.relative_to(rain_dir)
        if not twin.is_file():
            raise FileNotFoundError(f"{path}: no clean twin at {twin}; regenerate the scenes")
        pairs.append((path, twin))
    return pairs[:max_pairs] if max_pairs else pairs


def to_uint8(image: torch.Tensor) -> torch.Tensor:
    """(3, H, W) float in [0, 1] -> uint8 (4× less memory for a loaded training set)."""
    return (image * 255.0 + 0.5).clamp(0, 255).to(torch.uint8)


def load_twins(pairs: list[tuple[Path, Path]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Both sides as uint8 (N, 3, H, W); every image must have the first one's size."""
    rainy: list[torch.Tensor] = []
    clean: list[torch.Tensor] = []
    for rain_path, clean_path in pairs:
        a, b = read_image(rain_path), read_image(clean_path)   # size-checked before decoding
        for path, img in ((rain_path, a), (clean_path, b)):
            if rainy and img.shape != rainy[0].shape:
                raise ValueError(f"{path} is {img.shape[2]}x{img.shape[1]}, the split's images are "
                                 f"{rainy[0].shape[2]}x{rainy[0].shape[1]}")
        rainy.append(to_uint8(a))
        clean.append(to_uint8(b))
    return torch.stack(rainy), torch.stack(clean)


def block_artefacts(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A k-pixel block grid (k = 2, 4 or 8 per image) over each image: what a stride-k decoder
    leaves when it fails — square and axis-aligned, not streaks.

    (B, 3, H, W) float in [0, 1] -> same. Per image, one of two kinds, from the top-left corner:
    additive block noise (one value per k×k block, grey or coloured, uniform in ±0.02..0.12),
    or pixelation (the k×k block means, blended 30..100 % over the image): a decoder that
    lost the detail inside its blocks, as the demo's tiny DSANet does."""
    def draw() -> float:
        return float(torch.rand(1, generator=generator))

    out = []
    for image in images:
        k = (2, 4, 8)[int(torch.randint(3, (1,), generator=generator))]
        h, w = image.shape[-2:]
        hk, wk = -(-h // k), -(-w // k)
        if draw() < 0.5:
            channels = 1 if draw() < 0.5 else 3
            blocks = (torch.rand(channels, hk, wk, generator=generator) * 2 - 1) * (0.02 + 0.10 * draw())
            out_image = image + blocks.repeat_interleave(k, 1).repeat_interleave(k, 2)[:, :h, :w]
        else:
            padded = F.pad(image[None], (0, wk * k - w, 0, hk * k - h), mode="replicate")
            means = F.avg_pool2d(padded, k)[0]                              # (3, H/k, W/k)
            pixelated = means.repeat_interleave(k, 1).repeat_interleave(k, 2)[:, :h, :w]
            alpha = 0.3 + 0.7 * draw()
            out_image = image * (1 - alpha) + pixelated * alpha
        out.append(out_image.clamp(0, 1))
    return torch.stack(out)


def grey_veil(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A uniform grey veil over each image: washed-out, greyer, brighter, no streaks.

    (B, 3, H, W) float in [0, 1] -> same. Per image: blend weight 0.1..0.6 towards a grey
    level 0.4..0.9, after desaturating by 0..0.6 — the "faint grey veil" issue 16 describes."""
    b = images.shape[0]

    def draw(lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(b, 1, 1, 1, generator=generator)

    grey = images.mean(dim=1, keepdim=True)
    out = images + (grey - images) * draw(0.0, 0.6)
    alpha = draw(0.1, 0.6)
    return out * (1 - alpha) + draw(0.4, 0.9) * alpha
