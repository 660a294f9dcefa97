"""ONNX Runtime runner: the reference backend, CPU everywhere, CUDA execution provider when present.

Only the outputs asked for are computed. ONNX Runtime itself runs every node of a graph whatever
outputs run() names (its profiler shows the whole confidence chain executed for a mask-only
run), so a run that wants a subset of the outputs gets a second session on the graph cut down
to them (onnx.utils.Extractor), made on first use and kept. With the CUDA provider the inputs
are bound from host memory and the outputs bound to host memory through IO binding, so ORT
copies each once, without the intermediate CPU-allocated outputs of session.run.
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


def pruned_model(model_path: Path, input_names: Sequence[str], output_names: Sequence[str]) -> bytes:
    """The ONNX model cut down to the nodes `output_names` need, serialised."""
    import onnx
    from onnx.utils import Extractor

    model = onnx.load(str(model_path))   # ONNX is data: protobuf, no code runs
    return Extractor(model).extract_model(list(input_names), list(output_names)).SerializeToString()


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
        # ORT's intra-op threads spin-wait after each run by default. A node holds several sessions
        # (the graph, its mask-only cut, a condition estimator, weather models) on a few cores, and
        # the spinning threads of one starve the next: measured with python -m rain_seg_ros.bench
        # on 2 cores, demo-width ERF-PSPNet 512x1024 e2e went from 2.04x to 1.31x bare without it.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if intra_op_threads > 0:
            options.intra_op_num_threads = intra_op_threads
        self._session = ort.InferenceSession(str(self.model_path), options, providers=providers)
        self._make_session = lambda model: ort.InferenceSession(model, options, providers=providers)
        self._input_names = [t.name for t in self._session.get_inputs()]
        if self._input_names != [t.name for t in self.artifact.inputs]:
            raise BackendError(f"{self.model_path.name}: model inputs {self._input_names} do not match "
                               f"its sidecar ({[t.name for t in self.artifact.inputs]})")
        self._bound = device.startswith("cuda")
        self._all_outputs = [t.name for t in self._session.get_outputs()]
        self._subsets: dict[frozenset[str], Any] = {}   # outputs wanted -> session of the cut-down graph
        log.debug("onnxruntime session for %s on %s", self.model_path.name, self._session.get_providers())

    def _run(self, batch: np.ndarray) -> np.ndarray:
        return self._run_outputs([batch], [self.artifact.output.name])[0]

    def _session_for(self, names: list[str]) -> Any:
        wanted = frozenset(names)
        if wanted == frozenset(self._all_outputs):
            return self._session
        session = self._subsets.get(wanted)
        if session is None:
            kept = [n for n in self._all_outputs if n in wanted]
            session = self._make_session(pruned_model(self.model_path, self._input_names, kept))
            self._subsets[wanted] = session
            log.debug("onnxruntime session for %s cut down to %s", self.model_path.name, kept)
        return session

    def _run_outputs(self, inputs: list[np.ndarray], names: list[str]) -> list[np.ndarray]:
        feeds = dict(zip(self._input_names, inputs))
        session = self._session_for(names)
        if self._bound:
            return run_bound(session, feeds, names)
        return [np.asarray(out) for out in session.run(names, feeds)]

    def close(self) -> None:
        self._session = None  # type: ignore[assignment]  # releases the native sessions
        self._subsets.clear()
        super().close()
