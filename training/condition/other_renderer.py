"""Rain and night from renderers other than the training one, to test the estimator on looks it
was not trained on: albumentations' 2-D RandomRain, and a "night" made of a gamma curve,
underexposure, a colour-temperature cast (sodium-orange or LED-blue) and sensor noise (no
relighting, no lamps: nothing like training/scenes/night.py).

Each clear image gives four variants (VARIANTS, labels as CONDITION_NAMES); variant v of
image k is a pure function of (seed, k, v).

Example:
    ds = other_renderer_set(clear_items, (128, 256), seed=0)   # 4 x len(clear_items) samples
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from training.condition.data import ConditionDataset
from training.condition.sources import ConditionItem

VARIANTS = ((0, 0), (1, 0), (0, 1), (1, 1))   # (rain, night) per variant, index = rain + 2 night
RAIN_TYPES = ("drizzle", "heavy", "torrential", "default")


def albumentations_rain(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """RandomRain of a random type (uint8 RGB in and out)."""
    import albumentations as A

    kind = RAIN_TYPES[int(rng.integers(len(RAIN_TYPES)))]
    tf = A.Compose([A.RandomRain(rain_type=kind, p=1.0)], seed=int(rng.integers(2**31)))
    return tf(image=image)["image"]


def gamma_night(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Dark, colour-cast, noisy version of a day image (uint8 RGB in and out)."""
    x = image.astype(np.float32) / 255.0
    x = x ** rng.uniform(1.8, 3.0) * rng.uniform(0.25, 0.5)           # crush the shadows, underexpose
    warm = rng.random() < 0.5
    cast = np.array([1.15, 0.95, 0.6] if warm else [0.75, 0.9, 1.2], np.float32)
    x = x * cast * rng.uniform(0.9, 1.1, size=3).astype(np.float32)
    x = x + rng.normal(0.0, rng.uniform(0.01, 0.03), size=x.shape).astype(np.float32)  # read noise
    return np.clip(x * 255.0 + 0.5, 0, 255).astype(np.uint8)


def render_variant(image: np.ndarray, variant: int, rng: np.random.Generator) -> np.ndarray:
    """Variant 0 clear (unchanged), 1 rain, 2 night, 3 rain at night (rain drawn, then darkened)."""
    rain, night = VARIANTS[variant]
    if rain:
        image = albumentations_rain(image, rng)
    if night:
        image = gamma_night(image, rng)
    return image


def other_renderer_set(clear_items: Sequence[ConditionItem], input_size: Sequence[int],
                       seed: int = 0) -> ConditionDataset:
    """Four labelled variants of each clear image (intensity unknown: the renderers differ)."""
    if not clear_items:
        raise ValueError("--other-renderer needs clear images (rain and night known to be absent) "
                         "in the evaluated set; it has none")
    items = [ConditionItem(it.image, r, n, 0.0 if not r else -1, f"other_{v}/{it.name}")
             for it in clear_items for v, (r, n) in enumerate(VARIANTS)]

    def image_fn(image: np.ndarray, i: int) -> np.ndarray:
        rng = np.random.default_rng([seed, i // len(VARIANTS), i % len(VARIANTS)])
        return render_variant(image, i % len(VARIANTS), rng)

    return ConditionDataset(items, input_size, image_fn=image_fn, description="other renderer")
