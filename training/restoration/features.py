"""Feature networks for the perceptual (VGG) loss and for FID, loaded from local files only.

- VGG19 `features` from a torchvision-layout `.pth` (e.g. vgg19-dcbb9e9d.pth): torchvision is
  unusable here, so the module is built here with torchvision's layer indices, the file is
  read with torch.load(weights_only=True) (no code runs) and every `features.*` key and shape
  is checked, so the weights of another network are one clear error.
- Fallback: the encoder of a segmenter trained in this project (train-segmenter checkpoint):
  the 4-D outputs of the model's top-level blocks. It is not VGG, so the training run warns
  loudly, and FID from it is labelled "segmenter features", not comparable to published FID.

Example:
    net = build_feature_net(vgg19="/models/vgg19-dcbb9e9d.pth", segmenter="", device="cpu")
    feats = net(images)          # list of (B, C_i, H_i, W_i), images (B, 3, H, W) in [0, 1]
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn

from rain_seg_ros.cli import UserError
from rain_seg_ros.labels import IMAGENET_MEAN, IMAGENET_STD
from training.engine.checkpoint import torch_load_reason, torch_load_weights_only

log = logging.getLogger(__name__)

# torchvision's VGG19 (config "E"): conv widths, "M" = 2x2 max-pool.
VGG19_LAYOUT = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
                512, 512, 512, 512, "M")
# relu1_1, relu2_1, relu3_1, relu4_1, relu5_1 as indices of `features`, and SPADE's weights.
VGG_TAPS = (1, 6, 11, 20, 29)
VGG_WEIGHTS = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)
MAX_WEIGHTS_BYTES = 2_000_000_000


class FeatureFileError(UserError, ValueError):
    """A weights file is unreadable or holds another network."""


def vgg19_features(last: int = VGG_TAPS[-1]) -> nn.Sequential:
    """torchvision's `vgg19().features` up to index `last` (same indices, so same state keys)."""
    layers: list[nn.Module] = []
    ch = 3
    for v in VGG19_LAYOUT:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(ch, int(v), 3, padding=1), nn.ReLU(inplace=False)]
            ch = int(v)
    return nn.Sequential(*layers[: last + 1])


class VGGFeatures(nn.Module):
    """[0, 1] images -> the five relu_k_1 maps of VGG19 (ImageNet-normalised input)."""

    kind = "vgg19"
    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self) -> None:
        super().__init__()
        self.features = vgg19_features()
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        x = (images - self.mean) / self.std
        out = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in VGG_TAPS:
                out.append(x)
        return out


def load_vgg19(path: str | Path) -> VGGFeatures:
    """VGGFeatures with the `features.*` weights of a torchvision-layout VGG19 `.pth`."""
    state = load_state_file(path, "a torchvision VGG19 state dict (vgg19-*.pth)")
    net = VGGFeatures()
    expected = net.features.state_dict()
    theirs = {k[len("features."):]: v for k, v in state.items() if k.startswith("features.")}
    missing = [k for k in expected if k not in theirs]
    wrong = [k for k in expected if k in theirs and tuple(theirs[k].shape) != tuple(expected[k].shape)]
    if missing or wrong:
        raise FeatureFileError(f"{path}: not torchvision VGG19 weights (missing features.{missing[:3]}, "
                               f"wrong shape features.{wrong[:3]}); give a vgg19-*.pth state dict")
    net.features.load_state_dict({k: theirs[k] for k in expected})
    return net


def load_state_file(path: str | Path, what: str) -> dict[str, torch.Tensor]:
    """A `.pth` state dict read without running code (weights_only), size-bounded, or one
    FeatureFileError naming the file and what was expected."""
    file = Path(path)
    if not file.is_file():
        raise FeatureFileError(f"{file}: no such file (expected {what})")
    if file.stat().st_size > MAX_WEIGHTS_BYTES:
        raise FeatureFileError(f"{file}: {file.stat().st_size} bytes is too large for {what}")
    try:
        state = torch_load_weights_only(file)
    except Exception as exc:  # zip, pickle and weights-only refusals all raise differently
        raise FeatureFileError(f"{file}: not readable as {what} ({torch_load_reason(exc)})") from exc
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise FeatureFileError(f"{file}: not {what} (not a mapping of names to tensors)")
    return state


class SegmenterFeatures(nn.Module):
    """[0, 1] images -> the 4-D outputs of a project segmenter's top-level blocks."""

    kind = "segmenter"
    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, model: nn.Module, mean: list[float], std: list[float]) -> None:
        super().__init__()
        self.model = model
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)
        self._taps: list[torch.Tensor] = []
        for child in model.children():
            child.register_forward_hook(self._keep)

    def _keep(self, _module: nn.Module, _inputs: object, output: object) -> None:
        items = output if isinstance(output, (tuple, list)) else [output]
        self._taps += [t for t in items if isinstance(t, torch.Tensor) and t.dim() == 4]

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        self._taps = []
        self.model((images - self.mean) / self.std)
        out, self._taps = self._taps, []
        return out


def load_segmenter_features(checkpoint: str | Path, device: str | torch.device = "cpu") -> SegmenterFeatures:
    from training.segmenter.evaluation import load_segmenter

    model, meta = load_segmenter(checkpoint, device)
    return SegmenterFeatures(model, list(meta["mean"]), list(meta["std"])).to(device)


def build_feature_net(*, vgg19: str, segmenter: str, device: str | torch.device,
                      purpose: str = "perceptual loss") -> nn.Module:
    """VGG19 from `vgg19` if given, else the segmenter fallback with a loud warning; frozen."""
    if vgg19:
        net: nn.Module = load_vgg19(vgg19)
    elif segmenter:
        log.warning("!!! %s: no VGG19 weights given (perceptual.vgg19=PATH); using the encoder of "
                    "the project segmenter %s instead. Results are NOT comparable to VGG-based "
                    "ones. !!!", purpose, segmenter)
        net = load_segmenter_features(segmenter, device)
    else:
        raise FeatureFileError(f"{purpose} needs a feature network: set perceptual.vgg19=PATH "
                               "(torchvision vgg19-*.pth) or perceptual.segmenter=CKPT "
                               "(a train-segmenter run), or switch the VGG loss off (loss.vgg=0)")
    net = net.to(device).eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net


def perceptual_loss(net: nn.Module, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Sum over taps of weighted L1 between feature maps (SPADE's VGG loss weights for VGG;
    equal weights for the segmenter fallback, whose tap count varies by model)."""
    f_fake, f_real = net(fake), net(real)
    weights = VGG_WEIGHTS if getattr(net, "kind", "") == "vgg19" else (1.0,) * len(f_fake)
    loss = fake.new_zeros(())
    for w, a, b in zip(weights, f_fake, f_real):
        loss = loss + w * torch.nn.functional.l1_loss(a.float(), b.detach().float())
    return loss
