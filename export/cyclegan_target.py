"""Export targets of a CycleGAN checkpoint: one generator, or that generator fused with a segmenter.

`--direction night2day` exports F (night -> day), `day2night` exports G. The sidecar has task
"cyclegan_generator": input "image" (B, 3, H, W) in [0, 1] RGB, output "translated" the same,
mean 0 / std 1, and `extra.direction`. The runtime (rain_seg_ros.translate) feeds it uint8
frames and returns uint8 frames.

With a segmenter checkpoint the two networks become ONE graph, F -> normalise -> segmenter,
exported as an ordinary segmentation model ("image" in [0, 1]: the sidecar's mean/std are
0/1, the segmenter's own normalisation happens inside the graph), so segmentation_node runs
Method 1 in one inference call, unchanged. Its sidecar's `extra.translate` names the direction
and the CycleGAN checkpoint's sha256.

Example:
    write_cyclegan_onnx("runs/cyclegan", "artifacts/night2day.onnx", "night2day", height=256, width=512)
"""

from __future__ import annotations

from pathlib import Path

import torch

from export.graphs import segmentation_graph
from export.sidecar import exporter_versions, segmentation_artifact
from rain_seg_ros.artifact import Artifact, TensorSpec
from training.engine.checkpoint import file_sha256, load_modules, read_metadata, resolve_checkpoint

DIRECTIONS = {"day2night": "gen_g", "night2day": "gen_f"}


class TranslateThenSegment(torch.nn.Module):
    """[0, 1] image -> generator -> (x - mean) / std -> segmenter logits, as one module."""

    def __init__(self, generator: torch.nn.Module, segmenter: torch.nn.Module,
                 mean: list[float], std: list[float]):
        super().__init__()
        self.generator, self.segmenter = generator, segmenter
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        day = self.generator(image).clamp(0, 1)                    # (B, 3, H, W) in [0, 1]
        return self.segmenter((day - self.mean) / self.std)       # (B, C, H, W) logits


def _size(extra: dict, height: int | None, width: int | None, multiple: int) -> tuple[int, int]:
    crop = extra.get("crop") or [None, None]
    h, w = height or crop[0], width or crop[1]
    if not h or not w:
        raise ValueError("the checkpoints record no size: pass --height and --width")
    if h % multiple or w % multiple:
        raise ValueError(f"--height/--width {h}x{w} must be multiples of {multiple} for this generator "
                         f"(e.g. {h - h % multiple or multiple}x{w - w % multiple or multiple})")
    return int(h), int(w)


def cyclegan_target(checkpoint: str | Path, direction: str, height: int | None = None,
                    width: int | None = None, *, dynamic_batch: bool = False,
                    segmenter: str | Path | None = None,
                    exporter: dict[str, str] | None = None) -> tuple[torch.nn.Module, Artifact]:
    """(module in eval mode, sidecar) of one CycleGAN generator, or of generator -> segmenter."""
    if direction not in DIRECTIONS:
        raise ValueError(f"--direction must be one of {sorted(DIRECTIONS)} for a CycleGAN checkpoint, "
                         f"got {direction!r}")
    _, extra, _ = read_metadata(checkpoint)
    if extra.get("task") != "cyclegan":
        raise ValueError(f"{checkpoint}: a {extra.get('task')!r} checkpoint, not a CycleGAN one")
    seg_extra: dict = {}
    if segmenter is not None:
        _, seg_extra, _ = read_metadata(segmenter)
        if seg_extra.get("task") != "segmentation":
            raise ValueError(f"--segmenter {segmenter}: a {seg_extra.get('task')!r} checkpoint, "
                             "not a segmenter")
    name = DIRECTIONS[direction]
    generator = load_modules(checkpoint, [name])[name]
    # default size: the segmenter's input size when fused, else the CycleGAN's training crop
    size = {"crop": seg_extra.get("input_size") or extra.get("crop")}
    h, w = _size(size, height, width, int(getattr(generator, "multiple", 1)))
    sha = file_sha256(resolve_checkpoint(checkpoint))
    exporter = exporter if exporter is not None else exporter_versions()
    b: int | str = "batch" if dynamic_batch else 1
    if segmenter is None:
        art = Artifact(task="cyclegan_generator", inputs=[TensorSpec("image", [b, 3, h, w])],
                       outputs=[TensorSpec("translated", [b, 3, h, w])], input_size=(h, w), resize="stretch",
                       source_checkpoint_sha256=sha, exporter=exporter,
                       extra={"direction": direction, "module": name})
        return generator, art
    seg = load_modules(segmenter, ["model"])["model"]
    fused = TranslateThenSegment(generator, seg, list(seg_extra.get("mean", [0.485, 0.456, 0.406])),
                                 list(seg_extra.get("std", [0.229, 0.224, 0.225]))).eval()
    # the graph normalises inside: its input is the [0, 1] image, so the sidecar's mean/std are 0/1
    meta = {**seg_extra, "mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0]}
    seg_sha = file_sha256(resolve_checkpoint(segmenter))
    art = segmentation_artifact(meta, h, w, dynamic_batch=dynamic_batch, checkpoint_sha256=seg_sha,
                                exporter=exporter)
    art.extra["translate"] = {"direction": direction, "cyclegan_sha256": sha}
    # uint8 image in, class ids + confidence out, like every segmentation export (export/graphs.py):
    # with mean 0 / std 1 the wrapper hands the fused module the [0, 1] image it expects
    return segmentation_graph(fused, art), art


def write_cyclegan_onnx(checkpoint: str | Path, out: str | Path, direction: str, height: int | None = None,
                        width: int | None = None, *, dynamic_batch: bool = False,
                        segmenter: str | Path | None = None, opset: int | None = None) -> Path:
    """Export the target to `out` (.onnx) with its sidecar; returns the ONNX path."""
    from export.to_onnx import DEFAULT_OPSET, export_onnx

    opset = opset or DEFAULT_OPSET
    module, art = cyclegan_target(checkpoint, direction, height, width, dynamic_batch=dynamic_batch,
                                  segmenter=segmenter, exporter=exporter_versions(opset=str(opset)))
    return export_onnx(module, art, out, opset=opset)


def is_cyclegan(checkpoint: str | Path) -> bool:
    """Whether the checkpoint is a CycleGAN one (False when it cannot be read: the export says why)."""
    try:
        return read_metadata(checkpoint)[1].get("task") == "cyclegan"
    except (OSError, ValueError, RuntimeError):
        return False
