"""ResNet-50/101 backbone laid out exactly like torchvision's, so its state dicts load unchanged.

torchvision cannot run here, but users bring torchvision checkpoints. The module and
attribute names (conv1, bn1, layer1.0.conv1, layer1.0.downsample.0, ...) and the way
`replace_stride_with_dilation` turns strides into dilations follow torchvision's
`ResNet` / `Bottleneck` (v1.5: the stride sits on the 3x3 conv). The classification head
(avgpool, fc) is left out, as torchvision's `IntermediateLayerGetter` drops it in DeepLabV3.
"""

from __future__ import annotations

import torch
from torch import nn

DEPTHS: dict[str, tuple[int, int, int, int]] = {
    "resnet50": (3, 4, 6, 3),
    "resnet101": (3, 4, 23, 3),
}


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, dilation: int = 1,
                 downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=dilation,
                               dilation=dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNetBackbone(nn.Module):
    """ResNet trunk returning layer3 ("aux") and layer4 ("out") features.

    Args:
        depth: "resnet50" or "resnet101".
        output_stride: 8 (layer3 and layer4 dilated, torchvision's DeepLabV3 default) or 16
            (layer4 dilated).
        base_width: channels of the stem (64 in torchvision); smaller values give tiny
            models for tests and CPU runs, and break checkpoint compatibility.
    """

    def __init__(self, depth: str = "resnet50", output_stride: int = 8, base_width: int = 64):
        super().__init__()
        if depth not in DEPTHS:
            raise ValueError(f"unknown ResNet depth {depth!r}; known: {sorted(DEPTHS)}")
        if output_stride not in (8, 16):
            raise ValueError(f"output_stride must be 8 or 16, got {output_stride}")
        dilate = (False, True, True) if output_stride == 8 else (False, False, True)
        self.inplanes = base_width
        self.dilation = 1
        self.conv1 = nn.Conv2d(3, base_width, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(base_width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        blocks = DEPTHS[depth]
        self.layer1 = self._make_layer(base_width, blocks[0])
        self.layer2 = self._make_layer(base_width * 2, blocks[1], stride=2, dilate=dilate[0])
        self.layer3 = self._make_layer(base_width * 4, blocks[2], stride=2, dilate=dilate[1])
        self.layer4 = self._make_layer(base_width * 8, blocks[3], stride=2, dilate=dilate[2])
        self.out_channels = base_width * 8 * Bottleneck.expansion
        self.aux_channels = base_width * 4 * Bottleneck.expansion
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def _make_layer(self, planes: int, blocks: int, stride: int = 1, dilate: bool = False) -> nn.Sequential:
        # As torchvision: a dilated layer keeps its resolution, the first block uses the
        # previous dilation and the others the new one.
        previous_dilation = self.dilation
        if dilate:
            self.dilation *= stride
            stride = 1
        downsample = None
        if stride != 1 or self.inplanes != planes * Bottleneck.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * Bottleneck.expansion, 1, stride=stride, bias=False),
                nn.BatchNorm2d(planes * Bottleneck.expansion),
            )
        layers = [Bottleneck(self.inplanes, planes, stride, previous_dilation, downsample)]
        self.inplanes = planes * Bottleneck.expansion
        layers += [Bottleneck(self.inplanes, planes, dilation=self.dilation) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # (B, w, H/4, W/4)
        x = self.layer2(self.layer1(x))                       # (B, 8w, H/8, W/8)
        aux = self.layer3(x)                                  # (B, 16w, H/os3, W/os3)
        out = self.layer4(aux)                                # (B, 32w, H/os, W/os)
        return out, aux
