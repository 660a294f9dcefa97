"""PyTorch runner for `name.pt2` programs (torch.export.save), on CPU or CUDA.

A .pt2 is code, not data: torch.export.load (torch 2.13) unpickles its sample inputs (it retries
with torch.load(weights_only=False) when the safe load fails), weights and constants flagged
for pickle, and opaque objects with pickle.loads, so a crafted .pt2 runs arbitrary code the
moment it is loaded. torch offers no loader that cannot unpickle (load_pt2 has no weights_only
switch), so the protection is the opt-in: this runner refuses unless the caller says it trusts
the file (`trusted=True`, from open_backend's trust_pt2). Prefer ONNX for files from elsewhere.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rain_seg_ros.backends.base import Backend, BackendError, UntrustedModelError


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


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

    def _run(self, batch: np.ndarray) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            x = torch.from_numpy(batch).to(device=self._device, dtype=self._dtype, non_blocking=True)
            out = self._module(x)
            if isinstance(out, (tuple, list)):
                out = out[0]
            return out.float().cpu().numpy()

    def close(self) -> None:
        del self._module
        super().close()
