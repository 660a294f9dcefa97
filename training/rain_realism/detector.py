"""A small fully convolutional rain/no-rain classifier and its checkpoint.

The network sees an RGB image in [0, 1] and gives one rain logit per 8×8 block (at the
default depth); the image's rain probability is the sigmoid of the mean logit, so any size
works and a few streaks anywhere count. It is trained only on real procedural rainy vs clean
twins (training/rain_realism/train.py), never on DSANet output.

The checkpoint is the engine's (training.engine.checkpoint): safetensors weights of one module
`detector` of kind `rain_detector` with its constructor kwargs, and in the metadata
`task: rain_detector` and the held-out scores. It is rebuilt here, not through the model
table, and only from kwargs within the bounds below (a file cannot make us allocate a giant net).

Example:
    net = RainDetector(width=16, depth=3)
    probs = rain_probability(net, images)          # (B,) from (B, 3, H, W) in [0, 1]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from rain_seg_ros.cli import one_line
from training.engine import checkpoint as ckpt

KIND = "rain_detector"
TASK = "rain_detector"
MODULE = "detector"
MAX_WIDTH, MAX_DEPTH = 64, 6
# The largest net the bounds allow holds 4.7 M weights (19 MB); a much bigger file is not a detector
# and is refused before its tensors are read into memory.
MAX_FILE_BYTES = 64_000_000


class RainDetector(nn.Module):
    """Strided 3×3 convs (width doubling up to 4×) then a 1×1 logit head.

    Args:
        width: channels of the first conv.
        depth: number of stride-2 convs; one logit per 2^depth × 2^depth block.
    """

    def __init__(self, width: int = 16, depth: int = 3):
        super().__init__()
        if not (1 <= width <= MAX_WIDTH and 1 <= depth <= MAX_DEPTH):
            raise ValueError(f"rain detector width must be in 1..{MAX_WIDTH} and depth in 1..{MAX_DEPTH}, "
                             f"got width={width} depth={depth}")
        self.width, self.depth = width, depth
        layers: list[nn.Module] = []
        c_in = 3
        for i in range(depth):
            c_out = width * min(2 ** i, 4)
            layers += [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), nn.LeakyReLU(0.2),
                       nn.Conv2d(c_out, c_out, 3, padding=1), nn.LeakyReLU(0.2)]
            c_in = c_out
        self.body = nn.Sequential(*layers)
        self.head = nn.Conv2d(c_in, 1, 1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) in [0, 1] -> (B,) image logits (mean of the block logits)."""
        x = image * 2.0 - 1.0
        return self.head(self.body(x)).mean(dim=(1, 2, 3))   # (B, 1, H/2^d, W/2^d) -> (B,)


@torch.no_grad()
def rain_probability(net: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """(B,) probability that each image is rainy, from (B, 3, H, W) in [0, 1]."""
    net.eval()
    return torch.sigmoid(net(images))


def save_detector(out_dir: str | Path, net: RainDetector, step: int, extra: dict[str, Any]) -> Path:
    """Write the detector as a project checkpoint under out_dir/checkpoints; returns the step dir."""
    spec = ckpt.ModuleSpec(KIND, {"width": net.width, "depth": net.depth})
    return ckpt.save_checkpoint(Path(out_dir) / "checkpoints", step, {MODULE: (spec, net)},
                                train_state=None, keep=1, extra_meta={"task": TASK, **extra})


def load_detector(path: str | Path) -> tuple[RainDetector, dict[str, Any]]:
    """The detector and its checkpoint metadata (held-out scores, data) from a run dir, step
    dir or .safetensors file. Refuses, in one line, anything that is not a rain detector."""
    file = ckpt.resolve_checkpoint(path)
    if file.stat().st_size > MAX_FILE_BYTES:
        raise ckpt.CheckpointError(f"{file}: {file.stat().st_size} bytes is too large for a rain detector "
                                   f"checkpoint (at most {MAX_FILE_BYTES // 1_000_000} MB)")
    specs, extra, _ = ckpt.read_metadata(file)
    spec = specs.get(MODULE)
    if extra.get("task") != TASK or spec is None or spec.kind != KIND:
        raise ckpt.CheckpointError(f"{path}: not a rain detector checkpoint (task={extra.get('task')!r}); "
                                   "train one with `python -m training train-rain-detector`")
    kwargs = spec.config
    if set(kwargs) != {"width", "depth"} or not all(type(v) is int for v in kwargs.values()):
        raise ckpt.CheckpointError(f"{path}: damaged rain detector spec {kwargs!r}")
    try:
        net = RainDetector(**kwargs)
        net.load_state_dict(ckpt.load_state_dicts(file).get(MODULE, {}))
    except (ValueError, RuntimeError) as exc:
        raise ckpt.CheckpointError(f"{path}: rain detector weights do not fit its spec "
                                   f"({one_line(exc)})") from exc
    return net.eval(), extra
