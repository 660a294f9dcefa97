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
    -> confidence (uint8, 255 * max softmax), by the sidecar's extra["confidence"]:
       "low_resolution" (exports since lowconf, when the model ends with a bilinear upsample of its
           logits, as every segmenter here does): round_half_even(255 / sum_c exp(z_c - z_max)) with z
           the logits before that upsample, (B, h, w) at their own resolution (16-64x fewer values);
           the host resizes it bilinearly (cv2.INTER_LINEAR) straight to the camera size with the
           mask (rain_seg_ros.postprocess), so no full-resolution confidence pass runs in the graph.
       "before_upsample" (exports from perf13 to lowconf; the host still reads them): as above, then
           resized to (H, W) in the graph with the model's own upsample.
       "full_resolution" (other models, and exports before perf13, which lack the key):
           round_half_even(255 / sum_c exp(l_c - l_max)) on the full-resolution logits, (B, H, W).
WeatherGraph ("image_u8" contract), DSANet encoder -> code swap -> generator:
    image (B, H, W, 3) uint8 RGB, rain_code (B, C/2, h, w) float32, intensity (B,) float32
    -> b, r = split(E(image / 255));  r_0 = r ("own") or 0 ("zeros")
    -> out = G(b ⊕ ((1 - t) r_0 + t rain_code)) -> round_half_even(255 clamp(out, 0, 1)) uint8 (B, H, W, 3)
    derain is rain_code = 0, t = 1.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from export.final_upsample import InterpolateCalls, Upsample
from rain_seg_ros.artifact import Artifact, TensorSpec


def _u8_to_float(image: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    return image.permute(0, 3, 1, 2).to(dtype)                     # (B, 3, H, W)


class SegmentationGraph(nn.Module):
    """uint8 (B, H, W, 3) -> uint8 class ids (B, H, W) and confidence; see the module docstring.

    Args:
        model: normalised (B, 3, H, W) -> logits (B, C, H, W).
        mean, std: in the input's channel order.
        upsample: how the model upsamples its logits at the end (export.final_upsample); given, the
            confidence is (B, h, w) at the logits' resolution before that upsample ("low_resolution");
            None: (B, H, W) on the full-resolution logits.
    """

    def __init__(self, model: nn.Module, mean: Sequence[float], std: Sequence[float],
                 upsample: Upsample | None = None) -> None:
        super().__init__()
        self.model = model
        self.upsample = upsample
        std_t = torch.tensor(std, dtype=torch.float32)
        # (x/255 - mean)/std == x * 1/(255 std) - mean/std, as one depthwise 1x1 convolution: a
        # single pass over the image instead of a Mul and a Sub (ONNX Runtime CPU, demo-width
        # ERF-PSPNet at 512x1024: 0.6-0.9 ms less a frame, docs/benchmarks/README.md)
        self.register_buffer("scale", (1.0 / (255.0 * std_t)).reshape(3, 1, 1, 1))
        self.register_buffer("bias", -torch.tensor(mean, dtype=torch.float32) / std_t)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        scale: torch.Tensor = self.scale  # type: ignore[assignment]
        bias: torch.Tensor = self.bias  # type: ignore[assignment]
        x = F.conv2d(_u8_to_float(image, scale.dtype), scale, bias, groups=3)   # (B, 3, H, W)
        with InterpolateCalls() as calls:
            logits = self.model(x)                                  # (B, C, H, W)
        ids = _argmax_classes_last(logits)                          # (B, 1, H, W)
        low = calls.input_of(logits)
        if self.upsample is not None and low is None:   # never a silent change of definition
            raise RuntimeError("the model no longer ends with the bilinear upsample its probe found")
        if low is None or self.upsample is None:
            # the winner's logit by a gather, not a second pass over every class (ReduceMax):
            # measured 25 % less time for the tail on 19 x 512 x 1024 logits with ONNX Runtime CPU
            conf = _confidence_255(logits, logits.gather(1, ids))
        else:
            # (B, 1, h, w) at the logits' own resolution: the exp and sums run on C x h x w values
            # instead of C x H x W; the host resizes it once, straight to the camera size, with the ids
            # (the full-resolution Resize + Round + Cast here cost ~1.6 ms, docs/benchmarks/README.md)
            conf = _confidence_255(low, low.amax(dim=1, keepdim=True))     # (B, 1, h, w)
        return ids.squeeze(1).to(torch.uint8), torch.round(conf).squeeze(1).to(torch.uint8)


def _argmax_classes_last(logits: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) logits -> (B, 1, H, W) int64 argmax over C (ties: the lowest class, like numpy).

    Taken over a (B, H*W, C) view: ONNX Runtime's ArgMax over the class axis of NCHW runs a strided
    generic loop (~1 ns a logit); over contiguous classes it is 3x faster. When the logits come from
    a final Resize, export_onnx moves this Transpose before it (export/channels_last_resize.py), so
    the upsample itself writes channels-last. The Reshape keeps ORT's transpose optimiser from folding the
    Transpose back into ArgMax(axis=1). Measured on 19 x 512 x 1024 logits, 1 thread: ArgMax 9.4 ->
    2.7 ms (docs/benchmarks/README.md). Same logits, same ids: only the reading order changes.
    """
    b, c, h, w = logits.shape
    ids = logits.permute(0, 2, 3, 1).reshape(b, h * w, c).argmax(dim=-1)   # (B, H*W)
    return ids.reshape(b, 1, h, w)


def _confidence_255(logits: torch.Tensor, top: torch.Tensor) -> torch.Tensor:
    """(B, C, h, w) logits and their max (B, 1, h, w) -> (B, 1, h, w) float 255 * max softmax
    = 255 / sum_c exp(l_c - l_max), without materialising the softmax; in [0, 255]."""
    denom = torch.exp(logits - top).sum(dim=1, keepdim=True)        # (B, 1, h, w), >= 1
    # clamp: a bilinear resize of values in [0, 255] stays in [0, 255], so the uint8 cast is exact
    return (255.0 / denom).clamp(0.0, 255.0)


def segmentation_graph(model: nn.Module, artifact: Artifact) -> SegmentationGraph:
    """Wrap a segmenter for its sidecar: mean/std are stored in RGB order, the input is in the
    model's colour order. Records in artifact.extra["confidence"] how the graph computes its
    confidence ("low_resolution" or "full_resolution", module docstring) and in its output spec
    the confidence's (B, h, w)."""
    flip = -1 if artifact.color_order == "BGR" else 1
    h, w = artifact.input_size
    with torch.no_grad(), InterpolateCalls() as calls:
        logits = model.eval()(torch.zeros(1, 3, h, w))
    upsample, low = calls.final_upsample(logits), calls.input_of(logits)
    artifact.extra["confidence"] = "low_resolution" if upsample is not None else "full_resolution"
    if low is not None:   # the sidecar says the confidence output's real size
        i = [t.name for t in artifact.outputs].index("confidence")
        spec = artifact.outputs[i]
        artifact.outputs[i] = TensorSpec(spec.name, [spec.shape[0], *low.shape[-2:]], spec.dtype)
    return SegmentationGraph(model, artifact.mean[::flip], artifact.std[::flip], upsample).eval()


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
