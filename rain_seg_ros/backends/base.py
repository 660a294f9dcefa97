"""The one runner interface every inference backend implements.

A runner is opened from an exported model file (its sidecar next to it), runs a batch, and
is closed; it is a context manager. Inputs and outputs are numpy arrays: (B, 3, H, W)
float32 in, the model's first output (e.g. (B, C, H, W) logits) out, so pre/post-processing
is shared by all backends.

Example:
    with open_backend("model.onnx", backend="onnxruntime") as runner:
        logits = runner.infer(batch)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from types import TracebackType

import numpy as np

from rain_seg_ros.artifact import Artifact, load_artifact


class BackendError(RuntimeError):
    """A backend cannot be opened here (library missing, no GPU, wrong file type) or failed."""


class UntrustedModelError(BackendError):
    """A `.pt2` was asked for without the caller saying it trusts the file (it can run code)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(f"{path} is a PyTorch program and can run code when loaded; "
                         f"pass trust_pt2 / --trust-pt2 if you trust its source")


class Backend(ABC):
    """Lifecycle: __init__ loads, infer runs, close releases. Subclasses set `name` and `device`."""

    name: str = "base"

    def __init__(self, model_path: str | Path, device: str = "cpu") -> None:
        self.model_path = Path(model_path)
        if not self.model_path.is_file():
            raise BackendError(f"model file {self.model_path} does not exist")
        self.artifact: Artifact = load_artifact(self.model_path)
        self.device = device
        self._closed = False

    @abstractmethod
    def _run(self, batch: np.ndarray) -> np.ndarray:
        """Run the model on a validated, contiguous float32 batch."""

    def infer(self, batch: np.ndarray) -> np.ndarray:
        """(B, 3, H, W) float32 -> the model's output as a numpy array (host memory)."""
        if self._closed:
            raise BackendError(f"{self.name} runner for {self.model_path} is closed")
        shape = self.artifact.input.shape
        if batch.ndim != len(shape) or any(isinstance(s, int) and s != b
                                           for s, b in zip(shape, batch.shape)):
            raise ValueError(f"{self.model_path.name} expects input {shape}, got {tuple(batch.shape)}")
        return self._run(np.ascontiguousarray(batch, dtype=np.float32))

    def close(self) -> None:
        self._closed = True

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model_path.name!r}, device={self.device!r})"
