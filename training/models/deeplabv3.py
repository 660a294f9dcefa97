"""DeepLabV3 (ResNet-50/101, ASPP) with torchvision's parameter names.

`DeepLabV3(...).state_dict()` has the keys of torchvision's `deeplabv3_resnet50/101`
(`backbone.conv1.weight`, `backbone.layer1.0.conv1.weight`, `classifier.0.convs.0.0.weight`,
`classifier.0.project.0.weight`, `classifier.4.weight`, ...), so `init_from=<file>.pth`
loads a torchvision checkpoint with no conversion. torchvision's `aux_classifier.*` (an FCN
head on layer3) is not part of this model's forward contract; its keys are skipped.

Example:
    model = DeepLabV3(num_classes=19, backbone="resnet50", output_stride=8,
                      init_from="deeplabv3_resnet50_coco-cd0a2569.pth")
    logits = model(normalised_images)  # (B, 19, H, W)
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from training.models.resnet import ResNetBackbone

log = logging.getLogger(__name__)


class ASPPConv(nn.Sequential):
    def __init__(self, in_channels: int, out_channels: int, dilation: int):
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 3, padding=dilation, dilation=dilation, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
        )


class ASPPPooling(nn.Sequential):
    def __init__(self, in_channels: int, out_channels: int):
        super().__init__(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(in_channels, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        for module in self:
            x = module(x)  # (B, C, 1, 1)
        return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


class ASPP(nn.Module):
    """Atrous spatial pyramid pooling: 1x1 conv, three dilated 3x3 convs, image pooling."""

    def __init__(self, in_channels: int, atrous_rates: tuple[int, ...], out_channels: int = 256):
        super().__init__()
        branches: list[nn.Module] = [nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels), nn.ReLU())]
        branches += [ASPPConv(in_channels, out_channels, rate) for rate in atrous_rates]
        branches.append(ASPPPooling(in_channels, out_channels))
        self.convs = nn.ModuleList(branches)
        self.project = nn.Sequential(
            nn.Conv2d(len(branches) * out_channels, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
            nn.Dropout(0.5),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.project(torch.cat([conv(x) for conv in self.convs], dim=1))


class DeepLabV3(nn.Module):
    """DeepLabV3: normalised (B, 3, H, W) -> logits (B, num_classes, H, W).

    Args:
        num_classes: output classes (19 for Cityscapes).
        backbone: "resnet50" or "resnet101".
        output_stride: 8 or 16 (dilation replaces the last strides).
        atrous_rates: ASPP rates; default (12, 24, 36) at stride 8 (torchvision) and
            (6, 12, 18) at stride 16 (the DeepLabV3 paper).
        base_width: ResNet stem width (64 = torchvision); smaller for tiny models.
        aspp_channels: ASPP/head width (256 = torchvision).
        init_from: a torchvision DeepLabV3 `.pth` (or an ImageNet ResNet `.pth`, which
            fills the backbone only); the final classifier is skipped when its class count
            differs.
    """

    def __init__(self, *, num_classes: int = 19, backbone: str = "resnet50", output_stride: int = 8,
                 atrous_rates: tuple[int, ...] | list[int] | None = None, base_width: int = 64,
                 aspp_channels: int = 256, init_from: str | None = None):
        super().__init__()
        if atrous_rates is None:
            atrous_rates = (12, 24, 36) if output_stride == 8 else (6, 12, 18)
        self.backbone = ResNetBackbone(backbone, output_stride, base_width)
        self.classifier = nn.Sequential(
            ASPP(self.backbone.out_channels, tuple(atrous_rates), aspp_channels),
            nn.Conv2d(aspp_channels, aspp_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(aspp_channels),
            nn.ReLU(),
            nn.Conv2d(aspp_channels, num_classes, 1),
        )
        if init_from:
            load_torchvision_weights(self, init_from)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features, _ = self.backbone(x)            # (B, 2048, H/os, W/os)
        logits = self.classifier(features)        # (B, K, H/os, W/os)
        return F.interpolate(logits, size=x.shape[-2:], mode="bilinear", align_corners=False)


def _read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"DeepLabV3 init_from: no such file {path}")
    obj = torch.load(path, map_location="cpu", weights_only=True)
    for key in ("model", "state_dict"):  # training scripts often nest the weights
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ValueError(f"{path}: not a state dict of tensors")
    state = {k.removeprefix("module."): v for k, v in obj.items()}  # DDP-saved files
    if not any(k.startswith("backbone.") for k in state) and "conv1.weight" in state:
        # An ImageNet ResNet file (torchvision resnet50): it fills the backbone only.
        state = {f"backbone.{k}": v for k, v in state.items() if not k.startswith("fc.")}
    return state


def load_torchvision_weights(model: DeepLabV3, path: str | Path) -> None:
    """Load a torchvision-layout state dict into `model`, skipping mismatched heads.

    Raises ValueError when backbone weights are missing or have the wrong shape (the file
    is for another architecture), so a wrong file never trains silently from scratch.
    """
    state = _read_state_dict(path)
    own = model.state_dict()
    skipped = sorted(k for k in state if k.startswith("aux_classifier."))
    loadable: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if key.startswith("aux_classifier."):
            continue
        if key not in own:
            raise ValueError(f"{path}: unexpected key {key!r} (not a torchvision DeepLabV3 layout?)")
        if own[key].shape != value.shape:
            if key.startswith("classifier.4."):
                skipped.append(key)  # another class count: the final layer starts fresh
                continue
            raise ValueError(f"{path}: {key} has shape {tuple(value.shape)}, "
                             f"model expects {tuple(own[key].shape)}")
        loadable[key] = value
    missing = sorted(set(own) - set(loadable))
    bad = [k for k in missing if k.startswith("backbone.")]
    if bad:
        raise ValueError(f"{path}: {len(bad)} backbone weights missing, e.g. {bad[:3]}")
    model.load_state_dict(loadable, strict=False)
    log.info("DeepLabV3: loaded %d tensors from %s; skipped %s; left at init: %d tensors",
             len(loadable), path, skipped or "nothing", len(missing))
