"""ONNX Runtime runner: the reference backend, CPU everywhere, CUDA execution provider when present.

Only the outputs asked for are computed (session.run with output names: ORT prunes the rest, so
an unwanted confidence costs nothing). With the CUDA provider the inputs are bound from host
memory and the outputs bound to host memory through IO binding, so ORT copies each once,
without the intermediate CPU-allocated outputs of session.run.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

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


def run_bound(session: Any, feeds: dict[str, np.ndarray], names: Sequence[str]) -> list[np.ndarray]:
    """Run `session` through IO binding: host inputs bound as they are, outputs bound to host memory.

    The uint8 results of an in-graph argmax are what the host needs, so they are bound to "cpu":
    the execution provider copies them there once (2 bytes a pixel, not float logits).
    """
    binding = session.io_binding()
    for name, array in feeds.items():
        binding.bind_cpu_input(name, array)
    for name in names:
        binding.bind_output(name, "cpu")
    session.run_with_iobinding(binding)
    return [np.asarray(out) for out in binding.copy_outputs_to_cpu()]


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
        self._input_names = [t.name for t in self._session.get_inputs()]
        if self._input_names != [t.name for t in self.artifact.inputs]:
            raise BackendError(f"{self.model_path.name}: model inputs {self._input_names} do not match "
                               f"its sidecar ({[t.name for t in self.artifact.inputs]})")
        self._bound = device.startswith("cuda")
        log.debug("onnxruntime session for %s on %s", self.model_path.name, self._session.get_providers())

    def _run(self, batch: np.ndarray) -> np.ndarray:
        return self._run_outputs([batch], [self.artifact.output.name])[0]

    def _run_outputs(self, inputs: list[np.ndarray], names: list[str]) -> list[np.ndarray]:
        feeds = dict(zip(self._input_names, inputs))
        if self._bound:
            return run_bound(self._session, feeds, names)
        return [np.asarray(out) for out in self._session.run(names, feeds)]

    def close(self) -> None:
        self._session = None  # type: ignore[assignment]  # releases the native session
        super().close()
