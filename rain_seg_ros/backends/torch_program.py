"""PyTorch runner for `name.pt2` programs (torch.export.save), on CPU or CUDA.

A .pt2 is code, not data: torch.export.load (torch 2.13) unpickles its sample inputs (it retries
with torch.load(weights_only=False) when the safe load fails), weights and constants flagged
for pickle, and opaque objects with pickle.loads, so a crafted .pt2 runs arbitrary code the
moment it is loaded. torch offers no loader that cannot unpickle (load_pt2 has no weights_only
switch), so the protection is the opt-in: this runner refuses unless the caller says it trusts
the file (`trusted=True`, from open_backend's trust_pt2). Prefer ONNX for files from elsewhere.

On CUDA, inputs go through pinned host buffers and non-blocking copies (a copy from pageable
memory is staged by the driver and blocks), and outputs come back the same way; the buffers are
allocated once per shape and reused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rain_seg_ros.backends.base import Backend, BackendError, UntrustedModelError


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


class HostBuffers:
    """Host tensors allocated once per (role, shape, dtype) and reused; pinned when `pin` (CUDA)."""

    def __init__(self, torch: Any, pin: bool) -> None:
        self._torch = torch
        self.pin = pin
        self._buffers: dict[tuple[Any, ...], Any] = {}

    def get(self, role: str, shape: tuple[int, ...], dtype: Any) -> Any:
        key = (role, tuple(shape), dtype)
        buf = self._buffers.get(key)
        if buf is None:
            buf = self._torch.empty(key[1], dtype=dtype, pin_memory=self.pin)
            self._buffers[key] = buf
        return buf

    def __len__(self) -> int:
        return len(self._buffers)


class TorchProgramBackend(Backend):
    """Runs `name.pt2` with torch.export.load(...).module().

    Args:
        model_path: the .pt2 file (sidecar next to it).
        trusted: the caller vouches for the file's source; without it nothing is loaded.
        device: "cpu", "cuda" or "cuda:N".
        half: run in float16 (CUDA only); inputs are cast in and outputs cast back to float32.
            Programs compiled by `export torch-tensorrt` take their precision from the sidecar.
    """

    name = "torch"

    def __init__(self, model_path: str | Path, device: str = "cpu", half: bool = False,
                 trusted: bool = False) -> None:
        if not trusted:  # before anything reads the file
            raise UntrustedModelError(Path(model_path))
        super().__init__(model_path, device)
        if self.model_path.suffix != ".pt2":
            raise BackendError(f"the torch backend runs .pt2 programs, got {self.model_path.name}")
        try:
            import torch
        except ImportError as exc:
            raise BackendError("PyTorch is not installed") from exc
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise BackendError(f"device {device!r} asked for, but torch.cuda.is_available() is False")
        if half and not device.startswith("cuda"):
            raise BackendError("half precision is only offered on CUDA")
        compiled = self.artifact.extra.get("torch_tensorrt")
        if compiled:  # a torch-tensorrt program: its TensorRT ops must be registered before loading
            try:
                import torch_tensorrt  # noqa: F401
            except ImportError as exc:
                raise BackendError(f"{self.model_path.name} was compiled with torch-tensorrt, "
                                   f"which is not installed here") from exc
            if not device.startswith("cuda"):
                raise BackendError(f"{self.model_path.name} holds TensorRT engines: it needs a CUDA device")
            half = compiled.get("precision") == "fp16"
        self._torch = torch
        self._device = torch.device(device)
        self._dtype = torch.float16 if half else torch.float32
        program = torch.export.load(str(self.model_path))
        self._module = program.module().to(device=self._device, dtype=self._dtype)
        self._cuda = self._device.type == "cuda"
        self._host = HostBuffers(torch, pin=self._cuda)

    def _run(self, batch: np.ndarray) -> np.ndarray:
        return self._run_outputs([batch], [self.artifact.output.name])[0]

    def _to_device(self, index: int, array: np.ndarray) -> Any:
        src = self._torch.from_numpy(array)
        if self._cuda:  # pinned staging: the upload is a real async DMA
            staged = self._host.get(f"in{index}", array.shape, src.dtype)
            staged.copy_(src)
            src = staged
        x = src.to(self._device, non_blocking=True)
        # uint8 images stay uint8: the graph normalises them in its own precision
        return x.to(self._dtype) if x.is_floating_point() else x

    def _run_outputs(self, inputs: list[np.ndarray], names: list[str]) -> list[np.ndarray]:
        torch = self._torch
        with torch.inference_mode():
            out = self._module(*(self._to_device(i, a) for i, a in enumerate(inputs)))
            outs = out if isinstance(out, (tuple, list)) else (out,)
            by_name = dict(zip((t.name for t in self.artifact.outputs), outs))
            results = []
            for name in names:
                t = by_name[name]
                t = t.float() if t.is_floating_point() else t
                if self._cuda:
                    host = self._host.get(f"out:{name}", tuple(t.shape), t.dtype)
                    host.copy_(t, non_blocking=True)
                    t = host
                results.append(t)
            if self._cuda:
                torch.cuda.current_stream(self._device).synchronize()
                # the pinned buffers are reused by the next call: hand out copies
                return [r.numpy().copy() for r in results]
            return [r.numpy() for r in results]

    def close(self) -> None:
        del self._module
        super().close()
