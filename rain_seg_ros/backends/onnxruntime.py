"""ONNX Runtime runner: the reference backend, CPU everywhere, CUDA execution provider when present."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from rain_seg_ros.backends.base import Backend, BackendError

log = logging.getLogger(__name__)


def available_providers() -> list[str]:
    try:
        import onnxruntime as ort
    except ImportError:
        return []
    return list(ort.get_available_providers())


def cuda_available() -> bool:
    return "CUDAExecutionProvider" in available_providers()


class OnnxRuntimeBackend(Backend):
    """Runs `name.onnx` with onnxruntime.

    Args:
        model_path: the .onnx file (sidecar next to it).
        device: "cpu", "cuda" or "cuda:N" (the CUDA execution provider, CPU fallback for
            unsupported nodes).
        intra_op_threads: CPU threads per operator; 0 lets onnxruntime decide.
    """

    name = "onnxruntime"

    def __init__(self, model_path: str | Path, device: str = "cpu", intra_op_threads: int = 0) -> None:
        super().__init__(model_path, device)
        if self.model_path.suffix != ".onnx":
            raise BackendError(f"onnxruntime runs .onnx files, got {self.model_path.name}")
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise BackendError("onnxruntime is not installed (pip install onnxruntime)") from exc
        providers: list[str | tuple[str, dict[str, str]]] = ["CPUExecutionProvider"]
        if device.startswith("cuda"):
            if not cuda_available():
                raise BackendError(f"device {device!r} asked for, but this onnxruntime has no "
                                   f"CUDAExecutionProvider (providers: {available_providers()})")
            index = device.partition(":")[2] or "0"
            providers.insert(0, ("CUDAExecutionProvider", {"device_id": index}))
        elif device != "cpu":
            raise BackendError(f"unknown device {device!r} for onnxruntime (cpu, cuda, cuda:N)")
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if intra_op_threads > 0:
            options.intra_op_num_threads = intra_op_threads
        self._session = ort.InferenceSession(str(self.model_path), options, providers=providers)
        self._input_name = self._session.get_inputs()[0].name
        self._output_name = self._session.get_outputs()[0].name
        if self._input_name != self.artifact.input.name:
            raise BackendError(f"{self.model_path.name}: model input {self._input_name!r} does not match "
                               f"its sidecar ({self.artifact.input.name!r})")
        log.debug("onnxruntime session for %s on %s", self.model_path.name, self._session.get_providers())

    def _run(self, batch: np.ndarray) -> np.ndarray:
        (out,) = self._session.run([self._output_name], {self._input_name: batch})
        return np.asarray(out)

    def close(self) -> None:
        self._session = None  # type: ignore[assignment]  # releases the native session
        super().close()
