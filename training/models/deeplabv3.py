"""DeepLabV3 (ResNet-50/101, ASPP) with torchvision's parameter names.

`DeepLabV3(...).state_dict()` has the keys of torchvision's `deeplabv3_resnet50/101`
(`backbone.conv1.weight`, `backbone.layer1.0.conv1.weight`, `classifier.0.convs.0.0.weight`,
`classifier.0.project.0.weight`, `classifier.4.weight`, ...), so `init_from=<file>.pth`
loads a torchvision checkpoint with no conversion. torchvision's `aux_classifier.*` (an FCN
head on layer3) is not part of this model's forward contract; its keys are skipped.
`.pth` files are read with `torch.load(weights_only=True)`: a pickle that would build other
objects (run code) is refused, and so is a file larger than any DeepLabV3.
`import_torchvision_deeplabv3(file)` takes such a file whole, every weight included (the
`import-checkpoint` command), with the constructor kwargs that rebuild it.

Example:
    model = DeepLabV3(num_classes=19, backbone="resnet50", output_stride=8,
                      init_from="deeplabv3_resnet50_coco-cd0a2569.pth")
    logits = model(normalised_images)  # (B, 19, H, W)
"""

from __future__ import annotations

import logging
import pickle
import warnings
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from training.models.resnet import ResNetBackbone

log = logging.getLogger(__name__)

# torchvision's largest DeepLabV3 file (ResNet-101) is ~250 MB: anything far beyond is not one.
MAX_PTH_BYTES = 2 << 30
RESNET_BY_LAYER3_BLOCKS = {6: "resnet50", 23: "resnet101"}


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


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors of a torchvision-layout `.pth` (weights_only: no code runs), `module.` prefixes removed.

    Raises:
        FileNotFoundError: no such file.
        ValueError: too large, not a PyTorch file, a pickle holding more than tensors, or not a
            flat dict of tensors (one line naming the file).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"DeepLabV3 weights: no such file {path}")
    if path.stat().st_size > MAX_PTH_BYTES:
        raise ValueError(f"{path}: {path.stat().st_size} bytes is more than any DeepLabV3 "
                         f"({MAX_PTH_BYTES} at most): refused")
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols before refusing
            warnings.simplefilter("ignore")
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        # torch's message suggests weights_only=False: never, for a file from elsewhere.
        blocked = next((line.strip() for line in str(exc).splitlines() if "GLOBAL" in line), None)
        if blocked is None:
            raise ValueError(f"{path}: not a PyTorch weights file (the weights-only unpickler "
                             "cannot read it)") from exc
        raise ValueError(f"{path}: refused: it pickles objects other than tensors ({blocked[:100]}); "
                         "loading it could run code, only plain state dicts are read") from exc
    except Exception as exc:  # the restricted unpickler fails on garbage with any error type
        raise ValueError(f"{path}: not a PyTorch weights file ({str(exc).splitlines()[0][:120]})") from exc
    for key in ("model", "state_dict"):  # training scripts often nest the weights
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ValueError(f"{path}: not a state dict of tensors")
    state = {str(k).removeprefix("module."): v for k, v in obj.items()}  # DDP-saved files
    if not any(k.startswith("backbone.") for k in state) and "conv1.weight" in state:
        # An ImageNet ResNet file (torchvision resnet50): it fills the backbone only.
        state = {f"backbone.{k}": v for k, v in state.items() if not k.startswith("fc.")}
    return state


def load_torchvision_weights(model: DeepLabV3, path: str | Path) -> None:
    """Load a torchvision-layout state dict into `model`, skipping mismatched heads.

    Raises ValueError when backbone weights are missing or have the wrong shape (the file
    is for another architecture), so a wrong file never trains silently from scratch.
    """
    load_state(model, read_state_dict(path), path, strict=False)


def load_state(model: DeepLabV3, state: dict[str, torch.Tensor], path: str | Path, strict: bool) -> None:
    """`state` into `model`; `strict` refuses any weight left at init (import), otherwise only
    the final classifier of another class count and non-backbone weights may be (fine-tuning)."""
    own = model.state_dict()
    skipped = sorted(k for k in state if k.startswith("aux_classifier."))
    loadable: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if key.startswith("aux_classifier."):
            continue
        if key not in own:
            raise ValueError(f"{path}: unexpected key {key!r} (not a torchvision DeepLabV3 layout?)")
        if own[key].shape != value.shape:
            if key.startswith("classifier.4.") and not strict:
                skipped.append(key)  # another class count: the final layer starts fresh
                continue
            raise ValueError(f"{path}: {key} has shape {tuple(value.shape)}, "
                             f"model expects {tuple(own[key].shape)}")
        loadable[key] = value
    missing = sorted(set(own) - set(loadable))
    bad = missing if strict else [k for k in missing if k.startswith("backbone.")]
    if bad:
        part = "" if strict else "backbone "
        raise ValueError(f"{path}: {len(bad)} {part}weights missing, e.g. {bad[:3]}")
    model.load_state_dict(loadable, strict=False)
    log.info("DeepLabV3: loaded %d tensors from %s; skipped %s; left at init: %d tensors",
             len(loadable), path, skipped or "nothing", len(missing))


def torchvision_deeplabv3_kwargs(state: dict[str, torch.Tensor], path: str | Path) -> dict[str, Any]:
    """DeepLabV3() kwargs read off a torchvision-layout state dict: ResNet depth, widths, classes.
    The output stride is not in the weights (torchvision's DeepLabV3 uses 8)."""
    needed = ("backbone.conv1.weight", "classifier.0.convs.0.0.weight", "classifier.4.weight")
    absent = [k for k in needed if k not in state]
    if absent:
        raise ValueError(f"{path}: not a torchvision DeepLabV3 state dict (no {absent[0]}; its keys "
                         f"begin {sorted(state)[:3]})")
    parts = [k.split(".") for k in state if k.startswith("backbone.layer3.")]
    blocks = {int(p[2]) for p in parts if p[2].isdigit()}
    depth = RESNET_BY_LAYER3_BLOCKS.get(max(blocks) + 1 if blocks else 0)
    if depth is None:
        raise ValueError(f"{path}: backbone.layer3 has {len(blocks)} blocks; "
                         "a ResNet-50 has 6, a ResNet-101 23")
    return {"backbone": depth, "base_width": int(state["backbone.conv1.weight"].shape[0]),
            "aspp_channels": int(state["classifier.0.convs.0.0.weight"].shape[0]),
            "num_classes": int(state["classifier.4.weight"].shape[0])}


def import_torchvision_deeplabv3(path: str | Path, output_stride: int = 8
                                 ) -> tuple[DeepLabV3, dict[str, Any]]:
    """(DeepLabV3 holding every weight of a torchvision `.pth`, its constructor kwargs)."""
    state = read_state_dict(path)
    kwargs = {**torchvision_deeplabv3_kwargs(state, path), "output_stride": output_stride}
    model = DeepLabV3(**kwargs)
    load_state(model, state, path, strict=True)
    return model.eval(), kwargs
