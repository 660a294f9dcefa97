"""The deployed graphs: a trained network wrapped so that uint8 images go in and uint8 results come out.

Issue 13: every frame used to bring float logits (19 x 512 x 1024 x 4 bytes) back to the host and
run the argmax and an exp over every logit there. These wrappers put the normalisation before the
network and the argmax / max-softmax (or the DSANet code swap) after it, so every backend (ONNX
Runtime CPU/CUDA, .pt2, TensorRT) does them on its own device and 1-2 bytes a pixel come back.

SegmentationGraph ("ids_confidence_u8" contract):
    image (B, H, W, 3) uint8, in the model's colour order
    -> x = image * 1/(255 std) - mean/std        (the sidecar's mean/std in the input's channel order)
    -> logits (B, C, H, W) = model(x)
    -> mask = argmax_c logits                     (uint8; ties: the lowest class id, like numpy)
    -> confidence = round_half_even(255 / sum_c exp(l_c - l_max))   (uint8, = 255 * max softmax)
WeatherGraph ("image_u8" contract), DSANet encoder -> code swap -> generator:
    image (B, H, W, 3) uint8 RGB, rain_code (B, C/2, h, w) float32, intensity (B,) float32
    -> b, r = split(E(image / 255));  r_0 = r ("own") or 0 ("zeros")
    -> out = G(b ⊕ ((1 - t) r_0 + t rain_code)) -> round_half_even(255 clamp(out, 0, 1)) uint8 (B, H, W, 3)
    derain is rain_code = 0, t = 1.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from rain_seg_ros.artifact import Artifact


def _u8_to_float(image: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    return image.permute(0, 3, 1, 2).to(dtype)                     # (B, 3, H, W)


class SegmentationGraph(nn.Module):
    """uint8 (B, H, W, 3) -> uint8 class ids and confidence (B, H, W); see the module docstring."""

    def __init__(self, model: nn.Module, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        self.model = model
        std_t = torch.tensor(std, dtype=torch.float32)
        # (x/255 - mean)/std == x * 1/(255 std) - mean/std: one multiply-add per pixel
        self.register_buffer("scale", (1.0 / (255.0 * std_t)).reshape(1, 3, 1, 1))
        self.register_buffer("offset", (torch.tensor(mean, dtype=torch.float32) / std_t).reshape(1, 3, 1, 1))

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        scale: torch.Tensor = self.scale  # type: ignore[assignment]
        offset: torch.Tensor = self.offset  # type: ignore[assignment]
        x = _u8_to_float(image, scale.dtype) * scale - offset      # (B, 3, H, W)
        logits = self.model(x)                                      # (B, C, H, W)
        ids = logits.argmax(dim=1, keepdim=True)                    # (B, 1, H, W)
        # the winner's logit by a gather, not a second pass over every class (ReduceMax):
        # measured 25 % less time for the tail on 19 x 512 x 1024 logits with ONNX Runtime CPU
        top = logits.gather(1, ids)                                 # (B, 1, H, W)
        # max softmax = 1 / sum_c exp(l_c - l_max), without materialising the softmax
        denom = torch.exp(logits - top).sum(dim=1)                  # (B, H, W), >= 1
        confidence = torch.round(255.0 / denom).clamp(0, 255)
        return ids.squeeze(1).to(torch.uint8), confidence.to(torch.uint8)


def segmentation_graph(model: nn.Module, artifact: Artifact) -> SegmentationGraph:
    """Wrap a segmenter for its sidecar: mean/std are stored in RGB order, the input is in the
    model's colour order."""
    flip = -1 if artifact.color_order == "BGR" else 1
    return SegmentationGraph(model, artifact.mean[::flip], artifact.std[::flip]).eval()


class WeatherGraph(nn.Module):
    """DSANet as one graph: uint8 image + rain code + intensity -> uint8 image (module docstring)."""

    def __init__(self, encoder: nn.Module, generator: nn.Module, own_clean_code: bool) -> None:
        super().__init__()
        self.encoder = encoder
        self.generator = generator
        self.own_clean_code = own_clean_code   # rainify's t = 0 code: the input's own rain code, else 0

    def forward(self, image: torch.Tensor, rain_code: torch.Tensor,
                intensity: torch.Tensor) -> torch.Tensor:
        x = _u8_to_float(image, rain_code.dtype) / 255.0              # (B, 3, H, W) in [0, 1]
        feature = self.encoder(x)                                      # (B, C, h, w)
        half = feature.shape[1] // 2
        background, own = feature[:, :half], feature[:, half:]
        t = intensity.reshape(-1, 1, 1, 1)
        rain = t * rain_code
        if self.own_clean_code:
            rain = rain + (1.0 - t) * own
        out = self.generator(torch.cat([background, rain], dim=1))    # (B, 3, H, W) in ~[0, 1]
        out = torch.round(out.clamp(0.0, 1.0) * 255.0)
        return out.permute(0, 2, 3, 1).to(torch.uint8)                 # (B, H, W, 3)
