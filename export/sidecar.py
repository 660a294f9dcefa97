"""Build the sidecar (rain_seg_ros.artifact.Artifact) of a model about to be exported.

Everything comes from the checkpoint's own metadata (extra_meta of training) and the export
options, never from defaults duplicated elsewhere.
"""

from __future__ import annotations

import colorsys
from dataclasses import replace
from importlib import metadata
from pathlib import Path
from typing import Any

from rain_seg_ros.artifact import (
    MODEL_SUFFIXES,
    Artifact,
    ArtifactError,
    TensorSpec,
    load_artifact,
    sidecar_path,
)
from rain_seg_ros.labels import (
    CITYSCAPES_CLASSES,
    CITYSCAPES_PALETTE,
    IGNORE_INDEX,
    IMAGENET_MEAN,
    IMAGENET_STD,
)

EXPORTER_PACKAGES = ("torch", "onnx", "onnxscript", "onnxslim", "onnxruntime", "tensorrt", "torch_tensorrt")


def exporter_versions(**more: str) -> dict[str, str]:
    """Versions of the installed export tool chain (+ extra facts such as the opset)."""
    out = {}
    for name in EXPORTER_PACKAGES:
        try:
            out[name] = metadata.version(name.replace("_", "-"))
        except metadata.PackageNotFoundError:
            continue
    out.update(more)
    return out


def merge_sidecar(artifact: Artifact, model_path: str | Path) -> Artifact:
    """The sidecar to write for `model_path`, checked against the one its siblings share.

    `name.onnx`, `name.pt2` and `name.engine` share `name.json`, so they must agree on
    everything but the exporter versions (which are merged). Call this before writing the
    model: a conflicting sidecar whose sibling model exists is an error, not a silent overwrite.
    """
    model_path = Path(model_path)
    siblings = [model_path.with_suffix(s) for s in MODEL_SUFFIXES
                if s != model_path.suffix and model_path.with_suffix(s).is_file()]
    if not (sidecar_path(model_path).is_file() and siblings):
        return artifact
    try:
        old = load_artifact(model_path)
    except ArtifactError:
        return artifact
    mine, theirs = artifact.to_dict(), old.to_dict()
    mine.pop("exporter"), theirs.pop("exporter")
    if mine != theirs:
        raise ArtifactError(f"{sidecar_path(model_path)} describes {siblings[0].name} differently "
                            f"(shapes, preprocessing or source); export with the same options or "
                            f"another --out name")
    return replace(artifact, exporter={**old.exporter, **artifact.exporter})


def default_palette(n: int) -> list[tuple[int, int, int]]:
    """Distinct colours for n classes (golden-ratio hues), used when the classes are not Cityscapes'."""
    colours = []
    for i in range(n):
        r, g, b = colorsys.hsv_to_rgb((i * 0.618033988749895) % 1.0, 0.65, 0.95)
        colours.append((round(r * 255), round(g * 255), round(b * 255)))
    return colours


def _batch_dim(dynamic_batch: bool) -> int | str:
    return "batch" if dynamic_batch else 1


def segmentation_artifact(meta: dict[str, Any], height: int, width: int, *, dynamic_batch: bool,
                          checkpoint_sha256: str, exporter: dict[str, str],
                          contract: str = "ids_confidence_u8") -> Artifact:
    """Sidecar of a segmenter.

    contract "ids_confidence_u8" (export.graphs.SegmentationGraph): input "image" (B, H, W, 3) uint8,
    outputs "mask" and "confidence" (B, H, W) uint8 (export.graphs.segmentation_graph then sets the
    confidence to its (B, h, w) when the graph returns it at the logits' resolution). "float" (the
    raw network, exports before issue 13): input "image" (B, 3, H, W) normalised float32, output
    "logits" (B, C, H, W).

    Args:
        meta: the checkpoint's extra_meta (num_classes, class_names, ignore_index, mean, std).
    """
    class_names = list(meta.get("class_names") or [])
    num_classes = int(meta.get("num_classes", len(class_names)))
    if not class_names:
        class_names = (list(CITYSCAPES_CLASSES) if num_classes == 19
                       else [f"class_{i}" for i in range(num_classes)])
    if len(class_names) != num_classes or num_classes < 1:
        raise ValueError(f"checkpoint names {len(class_names)} classes but num_classes={num_classes}")
    if num_classes > 256:
        raise ValueError(f"{num_classes} classes do not fit the uint8 mask")
    palette = ([tuple(c) for c in CITYSCAPES_PALETTE] if tuple(class_names) == CITYSCAPES_CLASSES
               else default_palette(num_classes))
    b = _batch_dim(dynamic_batch)
    if contract == "ids_confidence_u8":
        inputs = [TensorSpec("image", [b, height, width, 3], "uint8")]
        outputs = [TensorSpec("mask", [b, height, width], "uint8"),
                   TensorSpec("confidence", [b, height, width], "uint8")]
    elif contract == "float":
        inputs = [TensorSpec("image", [b, 3, height, width])]
        outputs = [TensorSpec("logits", [b, num_classes, height, width])]
    else:
        raise ValueError(f"segmenters export with contract ids_confidence_u8 or float, not {contract!r}")
    return Artifact(
        task="segmentation",
        inputs=inputs,
        outputs=outputs,
        input_size=(height, width),
        mean=tuple(meta.get("mean", IMAGENET_MEAN)),  # type: ignore[arg-type]
        std=tuple(meta.get("std", IMAGENET_STD)),  # type: ignore[arg-type]
        color_order="RGB",
        resize=str(meta.get("resize", "stretch")),
        class_names=class_names,
        palette=palette,  # type: ignore[arg-type]
        ignore_index=int(meta.get("ignore_index", IGNORE_INDEX)),
        source_checkpoint_sha256=checkpoint_sha256,
        exporter=exporter,
        contract=contract,
    )


def weather_artifact(feature_shape: tuple[int, int, int], height: int, width: int, *, dynamic_batch: bool,
                     checkpoint_sha256: str, exporter: dict[str, str], extra: dict[str, Any]) -> Artifact:
    """Sidecar of DSANet as one graph (export.graphs.WeatherGraph, contract "image_u8").

    Inputs "image" (B, H, W, 3) uint8 RGB, "rain_code" (B, C/2, h, w) float32, "intensity" (B,)
    float32; output "image" (B, H, W, 3) uint8.

    Args:
        feature_shape: (C, h, w) of the encoder output at (height, width).
        extra: facts the runtime needs (rain-code bank file, code channels, clean-code rule).
    """
    b = _batch_dim(dynamic_batch)
    c, h, w = feature_shape
    return Artifact(task="dsanet",
                    inputs=[TensorSpec("image", [b, height, width, 3], "uint8"),
                            TensorSpec("rain_code", [b, c // 2, h, w]),
                            TensorSpec("intensity", [b])],
                    outputs=[TensorSpec("image_out", [b, height, width, 3], "uint8")],
                    input_size=(height, width), color_order="RGB", resize="stretch",
                    source_checkpoint_sha256=checkpoint_sha256, exporter=exporter, extra=dict(extra),
                    contract="image_u8")
