"""Segment RGB frames with an exported segmenter: preprocess -> backend -> postprocess.

ROS-free: the segmentation node wraps this; tests and the benchmark use it directly.
The sidecar's contract decides the path:
    "ids_confidence_u8" (exports since issue 13): resize to uint8 on the host, one backend call
        that normalises, runs the model, and computes class ids and confidence on the device,
        then a nearest resize of the uint8 results (a bilinear one of a confidence the graph returns
        at the logits' low resolution, extra.confidence "low_resolution"); the confidence output is
        not even asked for when nobody wants it and min_confidence is 0.
    "float" (older exports): float normalisation on the host, logits back, argmax/confidence here.

Example:
    with Segmenter("model.onnx", backend="auto") as seg:
        result = seg.segment(rgb)               # rgb: (H, W, 3) uint8
        result.mask                             # (H, W) uint8 train ids, 255 = ignore
        result.confidence                       # (H, W) uint8, 255 * softmax of the winner
        result.timings_ms                       # {"preprocess", "infer", "postprocess", "total"} in ms
        color = seg.colorize(result.mask)       # (H, W, 3) uint8 with the sidecar's palette
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import numpy as np

from rain_seg_ros.artifact import ArtifactError
from rain_seg_ros.backends import open_backend
from rain_seg_ros.labels import colorize
from rain_seg_ros.postprocess import segmentation_from_ids, segmentation_from_logits
from rain_seg_ros.preprocess import preprocess, preprocess_u8


@dataclass
class SegmentationResult:
    mask: np.ndarray                 # (H, W) uint8 class ids at the input resolution
    confidence: np.ndarray | None    # (H, W) uint8, 0..255; None when not wanted
    timings_ms: dict[str, float] = field(default_factory=dict)


class Segmenter:
    """An exported segmentation model plus its sidecar's pre/post-processing.

    Args:
        model_path: .onnx / .pt2 / .engine with its sidecar (task "segmentation").
        backend, device, engine_cache_dir, precision, trust_pt2: as for
            rain_seg_ros.backends.open_backend (trust_pt2: a .pt2 is code; load it only if trusted).
        min_confidence: pixels whose winning-class probability is below this get the
            sidecar's ignore index (0 keeps all).
    """

    def __init__(self, model_path: str | Path, backend: str = "auto", device: str = "auto",
                 engine_cache_dir: str | Path | None = None, min_confidence: float = 0.0,
                 precision: str = "auto", trust_pt2: bool = False) -> None:
        if not 0.0 <= min_confidence <= 1.0:
            raise ValueError(f"min_confidence must be in [0, 1], got {min_confidence}")
        self.runner = open_backend(model_path, backend=backend, device=device,
                                   engine_cache_dir=engine_cache_dir, precision=precision,
                                   trust_pt2=trust_pt2)
        self.artifact = self.runner.artifact
        if self.artifact.task != "segmentation":
            self.runner.close()
            raise ArtifactError(f"{model_path} is a {self.artifact.task!r} model, not a segmenter")
        if self.artifact.contract not in ("float", "ids_confidence_u8"):
            self.runner.close()
            raise ArtifactError(f"{model_path}: a segmenter with contract {self.artifact.contract!r} "
                                f"is not supported; re-export it with python -m export onnx")
        self._in_graph = self.artifact.contract == "ids_confidence_u8"
        names = [t.name for t in self.artifact.outputs]
        if self._in_graph and names != ["mask", "confidence"]:
            self.runner.close()
            raise ArtifactError(f"{model_path}: contract ids_confidence_u8 needs outputs ['mask', "
                                f"'confidence'], the sidecar names {names}; re-export the model")
        self.min_confidence = min_confidence
        shape0 = self.artifact.input.shape[0]
        self._max_batch = shape0 if isinstance(shape0, int) else None  # None: dynamic batch

    @property
    def backend_name(self) -> str:
        return self.runner.name

    @property
    def class_names(self) -> list[str]:
        return self.artifact.class_names

    def colorize(self, mask: np.ndarray) -> np.ndarray:
        """(H, W) uint8 class ids -> (H, W, 3) uint8 RGB with the sidecar's palette (ignore = black)."""
        return colorize(mask, tuple(self.artifact.palette))

    def segment(self, rgb: np.ndarray, want_confidence: bool = True) -> SegmentationResult:
        """Segment one (H, W, 3) uint8 RGB frame; see segment_batch."""
        return self.segment_batch([rgb], want_confidence)[0]

    def segment_batch(self, images: Sequence[np.ndarray],
                      want_confidence: bool = True) -> list[SegmentationResult]:
        """Segment several frames (any sizes); one backend call per model batch.

        Args:
            images: (H, W, 3) uint8 RGB frames, sizes may differ (several cameras).
            want_confidence: False skips computing the confidence where it can (nobody
                subscribes); results then carry confidence=None. min_confidence still applies.
        """
        step = self._max_batch or len(images)
        results: list[SegmentationResult] = []
        for start in range(0, len(images), step):
            chunk = images[start:start + step]
            t0 = time.perf_counter()
            batch, frames = (preprocess_u8 if self._in_graph else preprocess)(chunk, self.artifact)
            if self._max_batch is not None and len(chunk) < self._max_batch:
                # a static-batch model still needs a full batch: pad with copies, drop their outputs
                batch = np.concatenate([batch] + [batch[-1:]] * (self._max_batch - len(chunk)))
            t1 = time.perf_counter()
            if self._in_graph:
                need_conf = want_confidence or self.min_confidence > 0
                outs = self.runner.run([batch], ["mask", "confidence"] if need_conf else ["mask"])
                t2 = time.perf_counter()
                confidence = outs[1][:len(chunk)] if need_conf else None
                outputs = segmentation_from_ids(outs[0][:len(chunk)], confidence, frames, self.artifact,
                                                self.min_confidence, want_confidence)
            else:
                logits = self.runner.infer(batch)[:len(chunk)]
                t2 = time.perf_counter()
                outputs = segmentation_from_logits(logits, frames, self.artifact, self.min_confidence,
                                                   want_confidence)
            t3 = time.perf_counter()
            timings = {"preprocess": (t1 - t0) * 1e3, "infer": (t2 - t1) * 1e3,
                       "postprocess": (t3 - t2) * 1e3, "total": (t3 - t0) * 1e3}
            results += [SegmentationResult(mask, conf, dict(timings)) for mask, conf in outputs]
        return results

    def close(self) -> None:
        self.runner.close()

    def __enter__(self) -> Segmenter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
