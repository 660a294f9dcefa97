"""Inference backends behind one interface, and `open_backend`, which picks one.

`backend="auto"` takes the fastest one this machine can run for the artifacts present next
to `model_path` (same stem, suffixes .engine/.onnx):
    TensorRT (tensorrt + CUDA, from .engine or built from .onnx)  >  ONNX Runtime CUDA
    >  PyTorch CUDA (.pt2)  >  ONNX Runtime CPU  >  PyTorch CPU
and logs the choice with the reason. Heavy libraries are imported only by the backend chosen.

A `.pt2` is a PyTorch program: torch.export.load unpickles parts of it, so a crafted file runs
code when loaded (DESIGN.md, Trust). It is loaded only when it is `model_path` itself AND the
caller passes `trust_pt2=True`; a `.pt2` lying beside an `.onnx` is never picked up.

Example:
    with open_backend("model.onnx") as runner:          # auto
        print(runner.name, runner.device)
        logits = runner.infer(batch)                     # (B, C, H, W) float32
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

from rain_seg_ros.artifact import MODEL_SUFFIXES
from rain_seg_ros.backends.base import Backend, BackendError, UntrustedModelError

log = logging.getLogger(__name__)

BACKENDS = ("auto", "tensorrt", "onnxruntime", "torch")
PRECISIONS = ("auto", "fp32", "fp16", "int8")
SUFFIX = {"onnxruntime": ".onnx", "torch": ".pt2"}

__all__ = ["BACKENDS", "PRECISIONS", "Backend", "BackendError", "UntrustedModelError", "check_model_path",
           "choose_backend", "open_backend"]


def check_model_path(model_path: str | Path) -> Path:
    """The named model file, or a one-line BackendError saying what to name instead.

    Refuses an empty name, a directory, a sidecar (.json) given in place of its model, a
    missing file and anything that is not .onnx/.pt2/.engine: none of them silently turns
    into another file.
    """
    if not str(model_path).strip():
        raise BackendError("no model file named: give an exported model (.onnx, .pt2 or .engine "
                           "with its .json sidecar)")
    path = Path(model_path)
    if path.is_dir():
        raise BackendError(f"{path} is a directory: name the exported model file in it "
                           f"(.onnx, .pt2 or .engine)")
    if path.suffix == ".json":
        named = next((path.with_suffix(s) for s in MODEL_SUFFIXES if path.with_suffix(s).is_file()),
                     path.with_suffix(".onnx"))
        raise BackendError(f"{path} is a sidecar: name the model file ({named.name}), not its sidecar")
    if not path.is_file():
        raise BackendError(f"model file {path} does not exist: check the path, or export one "
                           f"with python -m export onnx|pt2")
    if path.suffix not in MODEL_SUFFIXES:
        raise BackendError(f"{path} is not an exported model: name an .onnx, .pt2 or .engine file")
    return path


def _tensorrt_usable() -> bool:
    """Real TensorRT (not just its type stubs, which install a `tensorrt` namespace) and a CUDA GPU."""
    from rain_seg_ros.backends.torch_program import cuda_available

    if importlib.util.find_spec("tensorrt") is None or not cuda_available():
        return False
    from rain_seg_ros.backends.tensorrt_build import require_tensorrt
    try:
        require_tensorrt()
    except BackendError:
        return False
    return True


def _siblings(model_path: Path, trust_pt2: bool) -> dict[str, Path]:
    """Existing artifacts sharing model_path's stem: suffix -> path. A .pt2 counts only when it
    is model_path itself and trusted: a sibling .pt2 is code nobody asked to run."""
    out = {}
    for suffix in (".engine", ".onnx"):
        candidate = model_path.with_suffix(suffix)
        if candidate.is_file():
            out[suffix] = candidate
    if model_path.suffix == ".pt2" and trust_pt2 and model_path.is_file():
        out[".pt2"] = model_path
    return out


def choose_backend(model_path: str | Path, device: str = "auto",
                   trust_pt2: bool = False) -> tuple[str, str, Path, str]:
    """Pick (backend, device, file, reason) for backend="auto"; see the module docstring for the order.

    Raises UntrustedModelError when model_path is an untrusted .pt2 with no .onnx/.engine beside it.
    """
    from rain_seg_ros.backends import onnxruntime as ort_backend
    from rain_seg_ros.backends import torch_program

    path = Path(model_path)
    files = _siblings(path, trust_pt2)
    gpu_ok = device != "cpu"
    options = [
        ("tensorrt", "cuda", files.get(".engine") or files.get(".onnx"),
         gpu_ok and _tensorrt_usable(), "tensorrt and a CUDA GPU present"),
        ("onnxruntime", "cuda", files.get(".onnx"),
         gpu_ok and ort_backend.cuda_available(), "onnxruntime has the CUDA execution provider"),
        ("torch", "cuda", files.get(".pt2"),
         gpu_ok and torch_program.cuda_available(), "torch sees a CUDA GPU"),
        ("onnxruntime", "cpu", files.get(".onnx"), device in ("auto", "cpu"), "CPU reference backend"),
        ("torch", "cpu", files.get(".pt2"), device in ("auto", "cpu"), "CPU, no .onnx next to it"),
    ]
    for name, dev, file, usable, reason in options:
        if file is not None and usable:
            if device.startswith("cuda:") and dev == "cuda":
                dev = device
            return name, dev, file, reason
    if path.suffix == ".pt2" and not trust_pt2:
        raise UntrustedModelError(path)
    raise BackendError(f"no backend can run {model_path} on device {device!r} here "
                       f"(artifacts found: {sorted(files) or 'none'})")


def _resolve_device(backend: str, device: str) -> str:
    if device != "auto":
        return device
    from rain_seg_ros.backends import onnxruntime as ort_backend
    from rain_seg_ros.backends import torch_program

    if backend == "tensorrt":
        return "cuda"
    if backend == "onnxruntime":
        return "cuda" if ort_backend.cuda_available() else "cpu"
    return "cuda" if torch_program.cuda_available() else "cpu"


def open_backend(model_path: str | Path, backend: str = "auto", device: str = "auto",
                 engine_cache_dir: str | Path | None = None, precision: str = "auto",
                 trust_pt2: bool = False) -> Backend:
    """Open a runner for an exported model.

    Args:
        model_path: .onnx, .pt2 or .engine file with its sidecar; an .onnx/.engine of the same
            stem next to it is used when `backend` needs it (e.g. .onnx for "tensorrt").
        backend: "auto", "tensorrt", "onnxruntime" or "torch".
        device: "auto", "cpu", "cuda" or "cuda:N".
        engine_cache_dir: where TensorRT engines built from ONNX are cached (default
            $XDG_CACHE_HOME/rain_seg_ros/engines, i.e. ~/.cache/rain_seg_ros/engines).
        precision: "auto" (the backend's default: the graph's own for onnxruntime and torch,
            fp16 for TensorRT engines built here), "fp32", "fp16" (torch on CUDA, TensorRT)
            or "int8" (TensorRT, with a calibration cache or a Q/DQ model).
        trust_pt2: allow loading model_path when it is a .pt2. A .pt2 is a PyTorch program that
            can run arbitrary code when loaded: set it only for files from a source you trust.
            Without it a .pt2 is refused (UntrustedModelError), or with backend "auto" the
            .onnx/.engine of the same stem is used instead when one exists.
    Returns:
        An open Backend; close it (or use it as a context manager).
    """
    if backend not in BACKENDS:
        raise BackendError(f"unknown backend {backend!r}; choose one of {BACKENDS}")
    if precision not in PRECISIONS:
        raise BackendError(f"unknown precision {precision!r}; choose one of {PRECISIONS}")
    path = check_model_path(model_path)
    if backend == "auto":
        named = path
        backend, device, path, reason = choose_backend(path, device, trust_pt2)
        if named.suffix == ".pt2" and not trust_pt2:  # not silent: the file served is another one
            log.warning("%s not loaded: a .pt2 is code and trust_pt2 was not given; serving %s",
                        named.name, path.name)
        log.info("backend auto -> %s on %s with %s (%s)", backend, device, path.name, reason)
    else:
        device = _resolve_device(backend, device)
        if backend == "torch" and path.suffix != ".pt2":
            # the .pt2 is code: it must be named as model_path, never found by its stem
            raise BackendError(f"backend 'torch' runs .pt2 programs: name the .pt2 file itself as the "
                               f"model (not {path.name}) and trust it")
        if backend in SUFFIX and path.suffix != SUFFIX[backend]:
            sibling = path.with_suffix(SUFFIX[backend])
            if not sibling.is_file():
                raise BackendError(f"backend {backend!r} needs {sibling.name} next to {path.name}")
            path = sibling
    if backend != "tensorrt" and precision not in ("auto", "fp32", "fp16"):
        raise BackendError(f"precision {precision!r} is offered by the TensorRT backend only")
    if backend == "onnxruntime":
        if precision == "fp16":
            raise BackendError("onnxruntime runs the graph in its exported precision; "
                               "fp16 needs torch or TensorRT")
        from rain_seg_ros.backends.onnxruntime import OnnxRuntimeBackend
        return OnnxRuntimeBackend(path, device=device)
    if backend == "torch":
        from rain_seg_ros.backends.torch_program import TorchProgramBackend
        return TorchProgramBackend(path, device=device, half=precision == "fp16", trusted=trust_pt2)
    from rain_seg_ros.backends.tensorrt import TensorRTBackend
    return TensorRTBackend(path, device=device, engine_cache_dir=engine_cache_dir,
                           precision="fp16" if precision == "auto" else precision)
