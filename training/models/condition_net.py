"""ConditionNet: a small CNN that tells clear / rain / night (rain and night together allowed)
and regresses rain intensity, from one downscaled camera frame.

Why two binary heads (rain?, night?) and not a 4-way softmax over {clear, rain, night,
rain+night}: the sources label the two facts independently and often only one of them. ACDC's
night folder says nothing about rain, BDD100K's "foggy"/"snowy" weather says nothing about
rain and its "dawn/dusk" nothing about night, and the procedural generator has no rain+night
twin. With two heads an unknown fact is simply left out of that head's loss; a softmax would
need the joint label for every sample. The four joint classes are still reported (their
probabilities are products of the two heads' outputs, see rain_seg_ros/condition.py).

Output, one tensor so every backend returns it whole: (B, 3) = [P(rain), P(night), intensity],
all in [0, 1] (sigmoids inside the graph). `forward(x, raw=True)` gives the three logits for
the training losses.

Example:
    net = ConditionNet(width=16)
    out = net(torch.randn(2, 3, 128, 256))   # (2, 3)
"""

from __future__ import annotations

import torch
from torch import nn

OUTPUT_COLUMNS = ("rain", "night", "intensity")


def _stage(cin: int, cout: int) -> nn.Sequential:
    """Two 3x3 convs, the first with stride 2: halves H and W."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
    )


class ConditionNet(nn.Module):
    """Args:
        width: channels of the first stage (doubled at each later stage).
        stages: number of stride-2 stages (the feature map is H/2^stages x W/2^stages).
        dropout: dropout before the heads (training only).
    """

    def __init__(self, width: int = 16, stages: int = 4, dropout: float = 0.1) -> None:
        super().__init__()
        if width < 1 or stages < 1:
            raise ValueError(f"ConditionNet needs width >= 1 and stages >= 1, got {width}, {stages}")
        chans = [width * 2**i for i in range(stages)]
        self.features = nn.Sequential(*[_stage(cin, cout) for cin, cout in zip([3, *chans[:-1]], chans)])
        c = chans[-1]
        # Global mean and max of the features: night is mostly a global level, rain streaks are
        # sparse local peaks that a mean alone dilutes.
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(2 * c, c), nn.ReLU(inplace=True))
        self.condition_head = nn.Linear(c, 2)   # rain, night logits
        self.intensity_head = nn.Linear(c, 1)   # rain intensity logit

    def forward(self, x: torch.Tensor, raw: bool = False) -> torch.Tensor:
        f = self.features(x)                                          # (B, C, H/16, W/16)
        pooled = torch.cat([f.mean(dim=(2, 3)), f.amax(dim=(2, 3))], 1)  # (B, 2C)
        h = self.classifier(pooled)                                   # (B, C)
        logits = torch.cat([self.condition_head(h), self.intensity_head(h)], 1)  # (B, 3)
        return logits if raw else torch.sigmoid(logits)
