"""Estimate the driving condition of RGB frames with an exported condition estimator.

ROS-free: the segmentation node will wrap this to pick the model for the condition it sees.
The exported graph (task "condition", `python -m export onnx --checkpoint CONDITION_RUN`)
takes one normalised image and returns (B, 3) = [P(rain), P(night), rain intensity], all in
[0, 1]; preprocessing (size, resize policy, mean/std, colour order) comes from its sidecar.
The four joint conditions are reported with the probabilities of the two independent heads:
P(clear) = (1 - r)(1 - n), P(rain) = r(1 - n), P(night) = (1 - r)n, P(rain+night) = rn.

Example:
    with ConditionEstimator("condition.onnx") as estimator:
        est = estimator.estimate(rgb)        # rgb: (H, W, 3) uint8 RGB
        est.condition, est.probabilities["night"], est.intensity
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import numpy as np

from rain_seg_ros.artifact import Artifact, ArtifactError
from rain_seg_ros.backends import open_backend
from rain_seg_ros.preprocess import preprocess

CONDITION_NAMES = ("clear", "rain", "night", "rain+night")   # index = rain + 2 * night
OUTPUT_COLUMNS = ("rain", "night", "intensity")              # the graph's (B, 3) output


def joint_probabilities(p_rain: np.ndarray, p_night: np.ndarray) -> np.ndarray:
    """(B,) head probabilities -> (B, 4) probabilities of CONDITION_NAMES (rows sum to 1)."""
    r, n = np.asarray(p_rain, np.float64), np.asarray(p_night, np.float64)
    return np.stack([(1 - r) * (1 - n), r * (1 - n), (1 - r) * n, r * n], axis=-1)


def check_condition_artifact(artifact: Artifact, where: str | Path) -> None:
    """Raise ArtifactError unless the sidecar describes a condition estimator this code reads."""
    if artifact.task != "condition":
        raise ArtifactError(f"{where} is a {artifact.task!r} model, not a condition estimator "
                            f"(export one with python -m export onnx --checkpoint CONDITION_RUN)")
    columns = tuple(artifact.extra.get("output_columns", ()))
    if columns != OUTPUT_COLUMNS or tuple(artifact.class_names) != CONDITION_NAMES:
        raise ArtifactError(f"{where}: sidecar output columns {list(columns)} / classes "
                            f"{artifact.class_names} are not {list(OUTPUT_COLUMNS)} / "
                            f"{list(CONDITION_NAMES)}; re-export it with this version")


@dataclass
class ConditionEstimate:
    probabilities: dict[str, float]   # CONDITION_NAMES -> probability (sums to 1)
    p_rain: float
    p_night: float
    intensity: float                  # rain intensity 0 (none) .. 1 (downpour), as trained

    @property
    def condition(self) -> str:
        """The most probable joint condition (each head thresholded at 0.5)."""
        return max(self.probabilities, key=self.probabilities.__getitem__)


class ConditionEstimator:
    """An exported condition estimator plus its sidecar's preprocessing.

    Args:
        model_path: .onnx / .pt2 / .engine with its sidecar (task "condition").
        backend, device, engine_cache_dir, precision, trust_pt2: as for
            rain_seg_ros.backends.open_backend (trust_pt2: a .pt2 is code; load it only if trusted).
    """

    def __init__(self, model_path: str | Path, backend: str = "auto", device: str = "auto",
                 engine_cache_dir: str | Path | None = None, precision: str = "auto",
                 trust_pt2: bool = False) -> None:
        self.runner = open_backend(model_path, backend=backend, device=device,
                                   engine_cache_dir=engine_cache_dir, precision=precision,
                                   trust_pt2=trust_pt2)
        self.artifact = self.runner.artifact
        try:
            check_condition_artifact(self.artifact, model_path)
        except ArtifactError:
            self.runner.close()
            raise

    def estimate_batch(self, images: Sequence[np.ndarray]) -> list[ConditionEstimate]:
        """uint8 (H, W, 3) RGB frames (any sizes) -> one estimate each, in order."""
        batch, _ = preprocess(images, self.artifact)            # (B, 3, h, w) float32
        if not self.artifact.dynamic_batch and len(images) != self.artifact.input.shape[0]:
            # a fixed-batch export runs the frames one at a time
            out = np.concatenate([self.runner.infer(batch[i:i + 1]) for i in range(len(images))])
        else:
            out = self.runner.infer(batch)                       # (B, 3)
        if out.ndim != 2 or out.shape[1] != len(OUTPUT_COLUMNS):
            raise ArtifactError(f"{self.runner.model_path}: output shape {out.shape} is not "
                                f"(B, {len(OUTPUT_COLUMNS)})")
        joint = joint_probabilities(out[:, 0], out[:, 1])
        return [ConditionEstimate({name: float(p) for name, p in zip(CONDITION_NAMES, row)},
                                  float(o[0]), float(o[1]), float(o[2]))
                for row, o in zip(joint, out)]

    def estimate(self, rgb: np.ndarray) -> ConditionEstimate:
        return self.estimate_batch([rgb])[0]

    def close(self) -> None:
        self.runner.close()

    def __enter__(self) -> ConditionEstimator:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
