"""History pool of generated images (Shrivastava et al. 2017, as CycleGAN uses it).

The discriminator sees, per generated image, either that image or, with probability 1/2 once
the pool is full, one drawn from the last `size` generated images (which the new one then
replaces). Older fakes keep D from chasing the generator's latest mode. The draws come from
the pool's own seeded generator, and `state_dict` holds images and generator state, so a
resumed run continues the exact same sequence.

Example:
    pool = ImagePool(50, seed=0)
    d_fake = D(pool.query(fake.detach()))
"""

from __future__ import annotations

from typing import Any

import torch


class ImagePool:
    def __init__(self, size: int = 50, seed: int = 0):
        if size < 0:
            raise ValueError(f"pool size must be >= 0, got {size}")
        self.size = size
        self.images: list[torch.Tensor] = []   # each (3, H, W), detached, on the images' device
        self.rng = torch.Generator().manual_seed(seed)

    def query(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) new fakes -> (B, 3, H, W) fakes to show D (new or from the history)."""
        if self.size == 0:
            return images
        out = []
        for image in images.detach():
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif torch.rand((), generator=self.rng).item() < 0.5:
                k = int(torch.randint(self.size, (), generator=self.rng).item())
                out.append(self.images[k].clone())
                self.images[k] = image.clone()
            else:
                out.append(image)
        return torch.stack(out)

    def state_dict(self) -> dict[str, Any]:
        stored = torch.stack(self.images).cpu() if self.images else torch.zeros(0)
        return {"images": stored, "rng": self.rng.get_state()}

    def load_state_dict(self, state: dict[str, Any], device: torch.device | str = "cpu") -> None:
        images = state["images"]
        self.images = [im.to(device) for im in images] if images.numel() else []
        if len(self.images) > self.size:
            raise ValueError(f"pool state holds {len(self.images)} images, more than its size {self.size}")
        self.rng.set_state(state["rng"])
