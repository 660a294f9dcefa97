"""Export target of a condition-estimator checkpoint (task "condition", module "model").

The graph: input "image" (B, 3, H, W) normalised with the sidecar's mean/std, output
"condition" (B, 3) = [P(rain), P(night), rain intensity] in [0, 1] (sigmoids inside the
graph, so every backend returns finished numbers). The sidecar carries the four joint class
names and the output columns; rain_seg_ros/condition.py reads both.

Example:
    python -m export onnx --checkpoint runs/condition --out artifacts/condition.onnx
"""

from __future__ import annotations

from typing import Any

from rain_seg_ros.artifact import Artifact, TensorSpec
from rain_seg_ros.condition import CONDITION_NAMES, OUTPUT_COLUMNS, check_condition_artifact
from rain_seg_ros.labels import IMAGENET_MEAN, IMAGENET_STD
from training.engine.checkpoint import load_modules


def condition_artifact(meta: dict[str, Any], height: int, width: int, *, dynamic_batch: bool,
                       checkpoint_sha256: str, exporter: dict[str, str]) -> Artifact:
    """Sidecar of a condition estimator from its checkpoint's extra_meta."""
    b: int | str = "batch" if dynamic_batch else 1
    art = Artifact(
        task="condition",
        inputs=[TensorSpec("image", [b, 3, height, width])],
        outputs=[TensorSpec("condition", [b, len(OUTPUT_COLUMNS)])],
        input_size=(height, width),
        mean=tuple(meta.get("mean", IMAGENET_MEAN)),  # type: ignore[arg-type]
        std=tuple(meta.get("std", IMAGENET_STD)),  # type: ignore[arg-type]
        color_order="RGB",
        resize="stretch",   # as training resized (training/condition/data.py)
        class_names=list(meta.get("class_names", CONDITION_NAMES)),
        source_checkpoint_sha256=checkpoint_sha256,
        exporter=exporter,
        extra={"output_columns": list(meta.get("output_columns", OUTPUT_COLUMNS)), "threshold": 0.5},
    )
    # a checkpoint of another layout fails here, not on the car
    check_condition_artifact(art, "the checkpoint")
    return art


def condition_targets(checkpoint: str, extra: dict[str, Any], height: int, width: int, *,
                      dynamic_batch: bool, checkpoint_sha256: str, exporter: dict[str, str]) -> list[Any]:
    """[ExportTarget] of a condition checkpoint (one model, no suffix)."""
    from export.targets import ExportTarget

    model = load_modules(checkpoint, ["model"])["model"]
    art = condition_artifact(extra, height, width, dynamic_batch=dynamic_batch,
                             checkpoint_sha256=checkpoint_sha256, exporter=exporter)
    return [ExportTarget("", model, art)]
