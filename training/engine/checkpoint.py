"""Self-describing checkpoints: safetensors weights + module specs + resume state.

Layout of a run directory:
    <run>/config.yaml                         resolved run config
    <run>/checkpoints/step_00000100/model.safetensors
    <run>/checkpoints/step_00000100/train_state.pt   optimiser/scaler/RNG state (resume)
    <run>/checkpoints/latest                  text file naming the newest step directory

`model.safetensors` holds every module's weights under `<module>.` prefixes and, in its
metadata, the kind and constructor kwargs of each module, so `load_modules(path)` rebuilds
the networks without the training config (nanoGPT's `model_args` habit). Loading never
unpickles code: weights come from safetensors and resume state from
`torch.load(weights_only=True)`.

Writes are atomic: a step is written to a temporary directory and renamed into place, and
`latest` is replaced only after that, so a run killed mid-write resumes from the previous step.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

# Re-exported: checkpoint and ONNX identity (sidecars, engine caches) use one hash function.
from rain_seg_ros.backends.engine_cache import file_sha256  # noqa: F401
from rain_seg_ros.cli import UserError, one_line

FORMAT = "rain_seg_ros.checkpoint/1"
WEIGHTS = "model.safetensors"
TRAIN_STATE = "train_state.pt"
# safetensors refuses headers above 100 MB; so do we, before reading one into memory.
MAX_HEADER_BYTES = 100_000_000
STEP_DIR = re.compile(r"^step_(\d+)$")
_TMP_DIR = re.compile(r"^\.tmp_step_\d+_(\d+)$")
_TMP_LATEST = re.compile(r"^latest\.tmp(\d+)$")


class CheckpointError(UserError, RuntimeError):
    """A checkpoint is missing, unreadable or not of this project's format."""


@dataclass(frozen=True)
class ModuleSpec:
    """What it takes to rebuild one network: a model kind and its constructor kwargs."""

    kind: str
    config: dict[str, Any]


def _unwrap(module: torch.nn.Module) -> torch.nn.Module:
    return getattr(module, "module", module)  # DDP keeps the real module in .module


def save_checkpoint(ckpt_root: str | Path, step: int,
                    modules: dict[str, tuple[ModuleSpec, torch.nn.Module]],
                    train_state: dict[str, Any] | None = None, keep: int = 3,
                    extra_meta: dict[str, Any] | None = None) -> Path:
    """Write `step_XXXXXXXX/` under ckpt_root atomically and point `latest` at it.

    Args:
        ckpt_root: the run's checkpoints directory.
        step: global step, used in the directory name.
        modules: name -> (spec, module); weights go under "<name>." keys.
        train_state: optimiser/scheduler/scaler state for resume (tensors and plain types).
        keep: how many step directories to keep (oldest removed first); 0 keeps all.
        extra_meta: JSON-serialisable facts stored in the safetensors metadata.
    Returns:
        The step directory written.
    """
    root = Path(ckpt_root)
    root.mkdir(parents=True, exist_ok=True)
    remove_stale_temp_dirs(root)
    final = root / f"step_{step:08d}"
    tmp = root / f".tmp_step_{step:08d}_{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    tensors: dict[str, torch.Tensor] = {}
    specs: dict[str, dict[str, Any]] = {}
    for name, (spec, module) in modules.items():
        specs[name] = {"kind": spec.kind, "config": spec.config}
        for key, value in _unwrap(module).state_dict().items():
            tensors[f"{name}.{key}"] = value.detach().to("cpu").contiguous()
    meta = {"format": FORMAT, "step": str(step), "modules": json.dumps(specs),
            "extra": json.dumps(extra_meta or {})}
    save_file(tensors, str(tmp / WEIGHTS), metadata=meta)
    if train_state is not None:
        torch.save(train_state, tmp / TRAIN_STATE)
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    _write_atomic(root / "latest", final.name)
    if keep > 0:
        steps = sorted(p for p in root.glob("step_*") if p.is_dir())
        for old in steps[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
    return final


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this machine (signal 0 only checks)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:   # exists, owned by another user
        return True
    return True


def remove_stale_temp_dirs(ckpt_root: str | Path) -> list[Path]:
    """Delete `.tmp_step_*_<pid>` dirs (and `latest.tmp<pid>` files) left by processes that
    died mid-save (kill -9, power loss); those of live processes may still be being written
    and are left alone.

    Returns:
        The paths removed.
    """
    removed = []
    for path in Path(ckpt_root).glob(".tmp_step_*"):
        match = _TMP_DIR.match(path.name)
        if match and path.is_dir() and not path.is_symlink() and not pid_alive(int(match[1])):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    for path in Path(ckpt_root).glob("latest.tmp*"):
        match = _TMP_LATEST.match(path.name)
        if match and path.is_file() and not pid_alive(int(match[1])):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def resolve_checkpoint(path: str | Path) -> Path:
    """Accept a run dir, its checkpoints dir, a step dir or a .safetensors file; return the file."""
    p = Path(path)
    if p.is_file():
        return p
    for candidate in (p, p / "checkpoints"):
        latest = candidate / "latest"
        if latest.is_file():
            name = latest.read_text(errors="replace")[:64].strip()
            if not STEP_DIR.match(name):   # only a sibling step dir, never a path elsewhere
                raise CheckpointError(f"{latest}: names {name!r}, not a step directory; "
                                      "give the step directory itself")
            return candidate / name / WEIGHTS
        if (candidate / WEIGHTS).is_file():
            return candidate / WEIGHTS
    raise CheckpointError(f"no checkpoint found at {p} (expected a run dir, a step dir "
                          f"or a {WEIGHTS} file)")


def latest_step_dir(ckpt_root: str | Path) -> Path | None:
    """The newest complete step directory under ckpt_root, or None."""
    try:
        return resolve_checkpoint(ckpt_root).parent
    except CheckpointError:
        return None


def verify_safetensors(path: str | Path) -> dict[str, str]:
    """Check that a safetensors file is whole without reading its tensors; return its metadata.

    The header is parsed here (8-byte little-endian length, then JSON) so that a truncated
    tail is reported as such: the file size must equal the end of the last tensor's data.
    safe_open then validates the header as safetensors itself does.

    Raises:
        CheckpointError: one line naming the file and what is wrong with it.
    """
    file = Path(path)
    if not file.is_file():
        raise CheckpointError(f"{file}: no such file")
    size = file.stat().st_size
    with open(file, "rb") as f:
        head = f.read(8)
        header_len = struct.unpack("<Q", head)[0] if len(head) == 8 else -1
        if not 2 <= header_len <= min(MAX_HEADER_BYTES, size - 8):
            raise CheckpointError(f"{file}: not a readable safetensors file (bad header length; "
                                  f"truncated, or another format)")
        raw = f.read(header_len)
    try:
        header = json.loads(raw)
        ends = [int(v["data_offsets"][1]) for k, v in header.items() if k != "__metadata__"]
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError) as exc:
        raise CheckpointError(f"{file}: not a readable safetensors file (bad header: "
                              f"{one_line(exc)})") from exc
    expected = 8 + header_len + max(ends, default=0)
    if size != expected:
        state = "truncated" if size < expected else "longer than its header says"
        raise CheckpointError(f"{file} is {state} ({size} bytes, its header declares {expected}); "
                              "use an older checkpoint or re-create it")
    try:
        with safe_open(str(file), framework="pt") as st:
            return dict(st.metadata() or {})
    except Exception as exc:  # safetensors raises its own error types
        raise CheckpointError(f"{file}: not a readable safetensors file ({one_line(exc)})") from exc


def read_metadata(path: str | Path) -> tuple[dict[str, ModuleSpec], dict[str, Any], int]:
    """Module specs, extra metadata and step of a checkpoint, without reading the weights."""
    file = resolve_checkpoint(path)
    meta = verify_safetensors(file)
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{file} is not a rain_seg_ros checkpoint (format={meta.get('format')!r})")
    try:
        specs = {name: ModuleSpec(str(d["kind"]), dict(d["config"]))
                 for name, d in json.loads(meta["modules"]).items()}
        extra = json.loads(meta.get("extra", "{}"))
        step = int(meta["step"])
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise CheckpointError(f"{file}: damaged checkpoint metadata ({one_line(exc)})") from exc
    if not isinstance(extra, dict):
        raise CheckpointError(f"{file}: damaged checkpoint metadata (extra is not a mapping)")
    return specs, extra, step


def load_state_dicts(path: str | Path) -> dict[str, dict[str, torch.Tensor]]:
    """Weights of every module in the checkpoint, split by module name."""
    file = resolve_checkpoint(path)
    verify_safetensors(file)
    try:
        flat = load_file(str(file))
    except Exception as exc:  # safetensors raises its own error types
        raise CheckpointError(f"{file}: not a readable safetensors file ({one_line(exc)})") from exc
    out: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in flat.items():
        name, _, rest = key.partition(".")
        out.setdefault(name, {})[rest] = value
    return out


def load_modules(path: str | Path, names: list[str] | None = None,
                 device: str | torch.device = "cpu") -> dict[str, torch.nn.Module]:
    """Rebuild the named modules (all by default) from a checkpoint, weights loaded, eval mode."""
    from training.models import build_model

    specs, _, _ = read_metadata(path)
    states = load_state_dicts(path)
    wanted = names or list(specs)
    missing = [n for n in wanted if n not in specs]
    if missing:
        raise CheckpointError(f"{path}: no module(s) {missing}; it holds {sorted(specs)}")
    out = {}
    for name in wanted:
        try:
            module = build_model(specs[name].kind, specs[name].config)
            module.load_state_dict(states.get(name, {}))
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise CheckpointError(f"{path}: module {name!r} cannot be rebuilt from its recorded "
                                  f"spec and weights ({one_line(exc)})") from exc
        out[name] = module.to(device).eval()
    return out


def load_train_state(step_dir: str | Path) -> dict[str, Any]:
    """Resume state of a step directory (weights_only: no code is unpickled)."""
    file = Path(step_dir) / TRAIN_STATE
    if not file.is_file():
        raise CheckpointError(f"{step_dir}: no {TRAIN_STATE}; cannot resume from it")
    try:
        state = torch_load_weights_only(file)
    except Exception as exc:  # zip, pickle and weights-only refusals all raise differently
        raise CheckpointError(f"{file}: not a readable resume state ({torch_load_reason(exc)})") from exc
    if not isinstance(state, dict) or "step" not in state:
        raise CheckpointError(f"{file}: not a resume state (no 'step')")
    return state


def torch_load_weights_only(file: str | Path) -> Any:
    """torch.load of tensors and plain containers only: pickled code is refused, not run.
    torch's warning about the pickle protocol of a refused file is noise on a one-line error."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
        return torch.load(file, map_location="cpu", weights_only=True)


def torch_load_reason(exc: BaseException) -> str:
    """Why torch.load refused a file, in words a user can act on. torch's own message for a
    weights-only refusal suggests weights_only=False, which would run the file's code."""
    if isinstance(exc, pickle.UnpicklingError):
        return "refused: it holds more than tensors (garbage or pickled code; nothing was executed)"
    return one_line(exc)
