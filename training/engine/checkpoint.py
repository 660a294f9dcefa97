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
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

# Re-exported: checkpoint and ONNX identity (sidecars, engine caches) use one hash function.
from rain_seg_ros.backends.engine_cache import file_sha256  # noqa: F401

FORMAT = "rain_seg_ros.checkpoint/1"
WEIGHTS = "model.safetensors"
TRAIN_STATE = "train_state.pt"


class CheckpointError(RuntimeError):
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
            return candidate / latest.read_text().strip() / WEIGHTS
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


def read_metadata(path: str | Path) -> tuple[dict[str, ModuleSpec], dict[str, Any], int]:
    """Module specs, extra metadata and step of a checkpoint, without reading the weights."""
    file = resolve_checkpoint(path)
    try:
        with safe_open(str(file), framework="pt") as f:
            meta = f.metadata() or {}
    except Exception as exc:  # safetensors raises its own error types
        raise CheckpointError(f"{file}: not a readable safetensors file ({exc})") from exc
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{file}: not a rain_seg_ros checkpoint (format={meta.get('format')!r})")
    specs = {name: ModuleSpec(d["kind"], d["config"]) for name, d in json.loads(meta["modules"]).items()}
    return specs, json.loads(meta.get("extra", "{}")), int(meta["step"])


def load_state_dicts(path: str | Path) -> dict[str, dict[str, torch.Tensor]]:
    """Weights of every module in the checkpoint, split by module name."""
    file = resolve_checkpoint(path)
    flat = load_file(str(file))
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
        module = build_model(specs[name].kind, specs[name].config)
        module.load_state_dict(states.get(name, {}))
        out[name] = module.to(device).eval()
    return out


def load_train_state(step_dir: str | Path) -> dict[str, Any]:
    """Resume state of a step directory (weights_only: no code is unpickled)."""
    file = Path(step_dir) / TRAIN_STATE
    if not file.is_file():
        raise CheckpointError(f"{step_dir}: no {TRAIN_STATE}; cannot resume from it")
    return torch.load(file, map_location="cpu", weights_only=True)
