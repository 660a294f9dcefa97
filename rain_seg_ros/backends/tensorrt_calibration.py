"""INT8 entropy calibration for TensorRT, fed from an image folder through the runtime's preprocessing.

`CalibrationBatches` is plain numpy (tested without TensorRT): it reads the images, runs the
SAME `preprocess` as inference (sidecar resize, colour order, mean/std) and yields fixed-size
(B, 3, H, W) float32 batches. `make_entropy_calibrator` wraps it in a
`tensorrt.IInt8EntropyCalibrator2` that copies each batch into one CUDA buffer (torch, no
pycuda) and reads/writes the calibration cache, so a rebuild on the same target (stale
engine) reuses the cache instead of needing the images again.

UNVERIFIED on a GPU (no GPU where this was written); the TensorRT parts are type-checked
against tensorrt-stubs. Note TensorRT 10.1+ deprecates implicit calibration in favour of
explicit Q/DQ (ModelOpt) graphs, which `build_serialized_engine` also accepts.

Example:
    batches = CalibrationBatches("calib_images/", artifact, batch_size=1, max_images=512)
    calibrator = make_entropy_calibrator(batches, Path("seg.calib"))
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from rain_seg_ros.artifact import Artifact
from rain_seg_ros.backends.base import BackendError
from rain_seg_ros.backends.tensorrt_build import require_tensorrt
from rain_seg_ros.preprocess import list_images, preprocess, read_rgb


class CalibrationBatches:
    """Fixed-size preprocessed batches from the images under `image_dir` (recursive, sorted).

    Args:
        image_dir: folder of calibration images (any sizes; representative of deployment).
        artifact: the model's sidecar, whose preprocessing is applied.
        batch_size: images per batch = the batch of the calibration profile's opt shape (TensorRT
            calibrates at that shape); a last partial batch is dropped.
        max_images: use at most this many images (the first ones in sorted order).
    """

    def __init__(self, image_dir: str | Path, artifact: Artifact, batch_size: int = 8,
                 max_images: int | None = None) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        files = list_images(image_dir, max_images)
        if len(files) < batch_size:
            raise ValueError(f"{image_dir} has {len(files)} images, fewer than one batch of {batch_size}")
        self.files = files[: len(files) // batch_size * batch_size]
        self.artifact = artifact
        self.batch_size = batch_size

    def __len__(self) -> int:
        return len(self.files) // self.batch_size

    @property
    def shape(self) -> tuple[int, int, int, int]:
        h, w = self.artifact.input_size
        return (self.batch_size, 3, h, w)

    def __iter__(self) -> Iterator[np.ndarray]:
        for start in range(0, len(self.files), self.batch_size):
            images = [read_rgb(path) for path in self.files[start:start + self.batch_size]]
            batch, _ = preprocess(images, self.artifact)
            yield batch                                             # (B, 3, H, W) float32


def make_entropy_calibrator(batches: CalibrationBatches | None, cache_file: Path,
                            device: str = "cuda") -> object:
    """A tensorrt.IInt8EntropyCalibrator2 over `batches`, with its cache at `cache_file`.

    With `batches=None` the calibrator only replays an existing cache (rebuilds on the target).
    """
    require_tensorrt()
    import tensorrt as trt
    import torch

    if batches is None and not cache_file.is_file():
        raise BackendError(f"INT8 rebuild needs calibration images or the cache {cache_file}")

    class EntropyCalibrator(trt.IInt8EntropyCalibrator2):
        def __init__(self) -> None:
            trt.IInt8EntropyCalibrator2.__init__(self)
            self._batches = iter(batches) if batches is not None else iter(())
            # one device buffer for every batch: allocated once, refilled in get_batch
            shape = batches.shape if batches is not None else (1,)
            self._buffer = torch.empty(shape, dtype=torch.float32, device=device)

        def get_batch_size(self) -> int:
            # explicit-batch networks (the only kind in TensorRT 10) must report 1: the batch
            # is the first axis of the tensors get_batch hands over
            return 1

        # TensorRT ends calibration when get_batch returns None (its docs); the stubs type it as list[int]
        def get_batch(self, names: list[str]) -> list[int] | None:  # type: ignore[override]
            if len(names) != 1:
                raise BackendError(f"calibration feeds single-input models, this one has inputs {names}")
            batch = next(self._batches, None)
            if batch is None:
                return None
            self._buffer.copy_(torch.from_numpy(batch))
            return [int(self._buffer.data_ptr())]

        def read_calibration_cache(self) -> bytes | None:  # type: ignore[override]  # None: no cache yet
            return cache_file.read_bytes() if cache_file.is_file() else None

        def write_calibration_cache(self, cache: memoryview | bytes) -> None:  # type: ignore[override]
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            cache_file.write_bytes(bytes(cache))

    return EntropyCalibrator()
