"""PyTorch runner for `name.pt2` programs (torch.export.save), on CPU or CUDA.

Loading a .pt2 deserialises a graph, not pickled Python code, so it is as safe to load as
an ONNX file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rain_seg_ros.backends.base import Backend, BackendError


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
        device: "cpu", "cuda" or "cuda:N".
        half: run in float16 (CUDA only); inputs are cast in and outputs cast back to float32.
            Programs compiled by `export torch-tensorrt` take their precision from the sidecar.
    """

    name = "torch"

    def __init__(self, model_path: str | Path, device: str = "cpu", half: bool = False) -> None:
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
