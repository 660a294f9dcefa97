"""Day <-> night translation of RGB frames with an exported CycleGAN generator (ROS-free).

The model is `python -m export onnx --checkpoint CYCLEGAN --direction night2day|day2night`'s
output: task "cyclegan_generator", [0, 1] RGB in and out. A frame is resized to the exported
size (the sidecar's policy), translated, and resized back to the frame's size, so a uint8
(H, W, 3) frame goes in and a uint8 (H, W, 3) frame comes out.

Example:
    with Translator("artifacts/night2day.onnx") as night2day:
        day_like = night2day(rgb)            # (H, W, 3) uint8 -> (H, W, 3) uint8
        night2day.direction                  # "night2day"
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

import numpy as np

from rain_seg_ros.artifact import ArtifactError, load_artifact
from rain_seg_ros.backends import open_backend
from rain_seg_ros.postprocess import images_from_output
from rain_seg_ros.preprocess import preprocess

DIRECTIONS = ("night2day", "day2night")


class Translator:
    """An exported CycleGAN generator behind a uint8-frame interface.

    Args:
        model_path: `.onnx` / `.engine` (or a trusted `.pt2`) with its sidecar.
        backend, device, engine_cache_dir: as for rain_seg_ros.backends.open_backend.
        direction: if given, the direction the caller expects; a model of the other one is refused.
    """

    def __init__(self, model_path: str | Path, backend: str = "auto", device: str = "auto",
                 engine_cache_dir: str | Path | None = None, direction: str | None = None,
                 trust_pt2: bool = False) -> None:
        artifact = load_artifact(model_path)
        if artifact.task != "cyclegan_generator":
            raise ArtifactError(f"{model_path} is a {artifact.task!r} model; a translator needs a CycleGAN "
                                f"generator (python -m export onnx --direction night2day|day2night)")
        found = artifact.extra.get("direction")
        if found not in DIRECTIONS:
            raise ArtifactError(f"{model_path}: sidecar direction {found!r} is not one of {DIRECTIONS}")
        if direction is not None and found != direction:
            raise ArtifactError(f"{model_path} translates {found}, not {direction}")
        self.artifact, self.direction = artifact, str(found)
        self.runner = open_backend(model_path, backend, device, engine_cache_dir, trust_pt2=trust_pt2)

    @property
    def name(self) -> str:
        return self.runner.name

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8 RGB -> the translated (H, W, 3) uint8 RGB frame."""
        batch, frames = preprocess([rgb], self.artifact)      # (1, 3, h, w) in [0, 1]
        return images_from_output(self.runner.infer(batch), frames)[0]

    def close(self) -> None:
        self.runner.close()

    def __enter__(self) -> Translator:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
