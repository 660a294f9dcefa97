"""Image-level weather for evaluation: DSANet rainify (seeded per image) or derain.

Example:
    fn = image_fn_from_args(rainify="runs/dsanet", rain_bank="bank.safetensors", intensity=0.8,
                            derain=None, seed=0, device="cpu")
    rainy = fn(images, index)   # (1, 3, H, W) in [0, 1]
"""

from __future__ import annotations

import torch

from training.segmenter.evaluation import ImageFn


def rainify_fn(net, codes: torch.Tensor, intensity: float, seed: int = 0) -> ImageFn:
    """Rainify with one bank code per image, chosen from (seed, image index): the same image
    gets the same rain for every model evaluated, so comparisons are paired."""
    if not 0.0 <= intensity <= 1.0:
        raise ValueError(f"intensity must lie in [0, 1], got {intensity}")

    def apply(images: torch.Tensor, index: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(seed * 1_000_003 + index)
        k = int(torch.randint(len(codes), (1,), generator=g))
        return net.rainify_with_codes(images, codes[k:k + 1], intensity).to(images.device)

    return apply


def derain_fn(net) -> ImageFn:
    def apply(images: torch.Tensor, index: int) -> torch.Tensor:
        return net.derain(images).to(images.device)

    return apply


def image_fn_from_args(*, rainify: str | None, rain_bank: str | None, intensity: float, derain: str | None,
                       seed: int, device: str | torch.device, rain_refs: str | None = None,
                       styles: int = 16) -> ImageFn | None:
    """The image transform selected by evaluate's flags, or None for images as they are."""
    if not rainify and not derain:
        return None
    from training.dsanet.api import DSANet

    if rainify:
        from training.dsanet.bank import build_rain_bank, load_rain_bank
        from training.dsanet.io import list_images

        net = DSANet.from_checkpoint(rainify, device=device)
        if rain_bank:
            codes, _ = load_rain_bank(rain_bank)
        elif rain_refs:
            codes, _ = build_rain_bank(net, list_images(rain_refs), k=styles, seed=seed)
        else:
            raise ValueError("rainify needs a rain-code bank or a folder of rain references")
        return rainify_fn(net, codes, intensity, seed)
    return derain_fn(DSANet.from_checkpoint(str(derain), device=device))
