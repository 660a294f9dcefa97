"""The procedural generator's physical rain renderer as an augmentation of any image.

`training.scenes.rain.render_rain` draws depth-dependent streaks, haze and splashes. Real
datasets have no depth maps, so the renderer gets either a flat depth (every pixel at
`flat_depth_m`) or a ground-plane estimate (training.segmenter.augment.ground_plane_depth),
and splashes land below the assumed horizon.

Example:
    aug = PhysicalRainAugment(p=0.5, intensity=(0.3, 1.0), depth="ground_plane")
    rainy = aug(image_uint8)
"""

from __future__ import annotations

import numpy as np

from training.segmenter.augment import WorkerGenerator, ground_plane_depth

HORIZON = 0.45  # assumed horizon row, as a fraction of the height, for the ground-plane estimate


class PhysicalRainAugment:
    """Physical rain with probability p and a uniform intensity in `intensity`.

    Args:
        p: probability per image.
        intensity: (lo, hi) range in [0, 1].
        depth: "flat" or "ground_plane".
        flat_depth_m: depth of every pixel for "flat".
        seed: seed in the main process (None: fresh entropy); inside a DataLoader worker the
            generator is reseeded from the worker's torch seed (WorkerGenerator).
    """

    def __init__(self, p: float = 0.5, intensity: tuple[float, float] = (0.3, 1.0), depth: str = "flat",
                 flat_depth_m: float = 20.0, seed: int | None = None):
        if depth not in ("flat", "ground_plane"):
            raise ValueError(f"physical rain depth must be 'flat' or 'ground_plane', got {depth!r}")
        lo, hi = intensity
        if not 0.0 <= lo <= hi <= 1.0:
            raise ValueError(f"physical rain intensity range must lie in [0, 1], got {intensity}")
        self.p, self.intensity, self.depth, self.flat_depth_m = p, (lo, hi), depth, flat_depth_m
        self._rng = WorkerGenerator(seed)

    def __call__(self, image: np.ndarray) -> np.ndarray:
        from training.scenes.rain import render_rain

        rng = self._rng.get()
        if rng.random() >= self.p:
            return image
        h, w = image.shape[:2]
        intensity = float(rng.uniform(*self.intensity))
        if self.depth == "flat":
            return render_rain(image, self.flat_depth_m, intensity, rng)
        ground = np.zeros((h, w), bool)
        ground[int(HORIZON * h) + 1:] = True
        depth = ground_plane_depth(h, w, horizon=HORIZON)
        return render_rain(image, depth, intensity, rng, ground_mask=ground)
