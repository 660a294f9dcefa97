"""The one runner interface every inference backend implements.

A runner is opened from an exported model file (its sidecar next to it), runs a batch, and
is closed; it is a context manager. Inputs and outputs are numpy arrays in host memory, typed
and shaped as the sidecar says, so pre/post-processing is shared by all backends:
    infer(batch)             one input, the model's first output ("float" contract: logits)
    run(inputs, outputs)     every input in sidecar order, the named outputs (default all); a
                             backend that can skip an output nobody asked for does (ONNX Runtime)

Example:
    with open_backend("model.onnx", backend="onnxruntime") as runner:
        logits = runner.infer(batch)                                  # float contract
        mask, = runner.run([images_u8], outputs=["mask"])            # ids_confidence_u8 contract
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
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
        """Run the model on one validated, contiguous input; return its first output."""

    def _run_outputs(self, inputs: list[np.ndarray], names: list[str]) -> list[np.ndarray]:
        """Run on validated inputs (sidecar order); return the named outputs in that order.

        Backends that run multi-input or multi-output graphs override this; the default serves
        the one-input, first-output case through _run.
        """
        if len(inputs) == 1 and names == [self.artifact.output.name]:
            return [self._run(inputs[0])]
        raise BackendError(f"the {self.name} backend cannot run {self.model_path.name} "
                           f"({len(inputs)} inputs, outputs {names}); use onnxruntime")

    def _checked(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        if self._closed:
            raise BackendError(f"{self.name} runner for {self.model_path} is closed")
        specs = self.artifact.inputs
        if len(inputs) != len(specs):
            raise ValueError(f"{self.model_path.name} takes {len(specs)} inputs "
                             f"({[s.name for s in specs]}), got {len(inputs)}")
        out = []
        for spec, array in zip(specs, inputs):
            shape = spec.shape
            if array.ndim != len(shape) or any(isinstance(s, int) and s != b
                                               for s, b in zip(shape, array.shape)):
                raise ValueError(f"{self.model_path.name} expects input {spec.name} {shape}, "
                                 f"got {tuple(array.shape)}")
            if spec.dtype == "uint8" and array.dtype != np.uint8:
                # never cast images silently: a float image in [0, 1] would become black
                raise ValueError(f"{self.model_path.name} expects {spec.name} as uint8, got {array.dtype}")
            out.append(np.ascontiguousarray(array, dtype=np.dtype(spec.dtype)))
        return out

    def infer(self, batch: np.ndarray) -> np.ndarray:
        """The model's one input (e.g. (B, 3, H, W) float32) -> its first output, in host memory."""
        (checked,) = self._checked([batch])
        return self._run(checked)

    def run(self, inputs: Sequence[np.ndarray],
            outputs: Sequence[str] | None = None) -> list[np.ndarray]:
        """Every input in sidecar order -> the named outputs (default: all, sidecar order)."""
        known = [t.name for t in self.artifact.outputs]
        names = list(outputs) if outputs is not None else known
        unknown = [n for n in names if n not in known]
        if unknown or not names:
            raise ValueError(f"{self.model_path.name} has outputs {known}, asked for {names}")
        return self._run_outputs(self._checked(inputs), names)

    def close(self) -> None:
        self._closed = True

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model_path.name!r}, device={self.device!r})"
