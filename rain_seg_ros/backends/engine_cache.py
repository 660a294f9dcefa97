"""TensorRT engine cache: an engine is reused only when everything that invalidates it matches.

An engine is only valid for the exact ONNX graph, TensorRT version, GPU (name and compute
capability), precision, shape profile and (int8) calibration data it was built with
(DESIGN.md, Artifacts). The cache key is the sha256 of those facts; engines live in
`<cache_dir>/<onnx stem>-<key[:16]>.engine` with a sidecar `<same>.json` (the ONNX sidecar
plus `extra["tensorrt"]` = the key facts). A cached engine whose recorded facts differ
from what this machine needs is stale: it is rebuilt, never trusted.

This module is pure Python: the builder and the environment probe are passed in, so hit,
miss and stale logic is tested without TensorRT or a GPU.

Example:
    cache = EngineCache("~/.cache/rain_seg_ros/engines")
    engine = cache.get_or_build(Path("seg.onnx"), options, environment=probe_environment(),
                                build=lambda onnx, opts: build_serialized_engine(onnx, opts))
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from rain_seg_ros.artifact import Artifact, load_artifact, write_artifact

log = logging.getLogger(__name__)

PRECISIONS = ("fp32", "fp16", "int8")
Shape = tuple[int, ...]


@dataclass(frozen=True)
class ShapeProfile:
    """min/opt/max shapes of the first model input (the others follow it: input_profiles).

    E.g. ((1, 256, 512, 3), (1, 256, 512, 3), (4, 256, 512, 3)) for a uint8 graph."""

    min: Shape
    opt: Shape
    max: Shape

    def __post_init__(self) -> None:
        if not len(self.min) == len(self.opt) == len(self.max):
            raise ValueError(f"profile shapes differ in rank: {self.min} {self.opt} {self.max}")
        if not all(a <= b <= c for a, b, c in zip(self.min, self.opt, self.max)):
            raise ValueError(f"profile needs min <= opt <= max per axis: {self.min} {self.opt} {self.max}")
        if min(self.min) < 1:
            raise ValueError(f"profile shapes must be positive: {self.min}")


@dataclass(frozen=True)
class BuildOptions:
    """How an engine is built. Every field that changes the engine is part of the cache key."""

    precision: str = "fp16"
    profile: ShapeProfile | None = None        # None: the ONNX input shape (static models)
    workspace_gb: float = 4.0
    dla_core: int | None = None

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"unknown precision {self.precision!r}; expected one of {PRECISIONS}")
        if self.workspace_gb <= 0:
            raise ValueError(f"workspace must be positive, got {self.workspace_gb} GB")
        if self.dla_core is not None and (self.dla_core < 0 or self.precision == "fp32"):
            raise ValueError("DLA needs a core index >= 0 and fp16 or int8 precision")


@dataclass(frozen=True)
class Environment:
    """What the machine contributes to the key."""

    tensorrt_version: str
    gpu_name: str
    compute_capability: str                    # "8.7"


@dataclass(frozen=True)
class EngineKey:
    onnx_sha256: str
    environment: Environment
    precision: str
    profile: ShapeProfile | None
    dla_core: int | None = None
    # int8: sha256 of the calibration inputs the Q/DQ graph was calibrated on (its sidecar's
    # extra["quantization"]); the graph's bytes alone could hide a recalibration that
    # happened to round to the same scales
    calibration_sha256: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-normalised (tuples -> lists) so it compares equal to the copy read back from a sidecar."""
        return json.loads(json.dumps(asdict(self)))

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.as_dict(), sort_keys=True).encode()).hexdigest()


def profile_for(artifact: Artifact, max_batch: int = 8) -> ShapeProfile:
    """Default profile from a sidecar: its static shape, or batch 1..max_batch (opt 1) when dynamic."""
    dims = artifact.input.shape
    if any(not isinstance(d, int) for d in dims[1:]):
        raise ValueError(f"only the batch axis may be dynamic for a default profile, got {dims}")
    rest = tuple(int(d) for d in dims[1:])
    if isinstance(dims[0], int):
        shape = (dims[0], *rest)
        return ShapeProfile(shape, shape, shape)
    return ShapeProfile((1, *rest), (1, *rest), (max_batch, *rest))


def input_profiles(artifact: Artifact, profile: ShapeProfile) -> dict[str, ShapeProfile]:
    """The profile of every input: `profile` for the first, the same batch range for the others.

    The key holds `profile` only: the other inputs' shapes follow from it and the graph (whose
    sha256 is in the key). A profile that does not fit the sidecar's static axes is refused
    here, in one line, rather than by TensorRT after parsing (uint8 graphs take NxHxWx3).
    """
    first = artifact.input
    static_differs = any(isinstance(d, int) and not lo == hi == d
                         for d, lo, hi in zip(first.shape, profile.min, profile.max))
    if len(profile.min) != len(first.shape) or static_differs:
        raise ValueError(f"shape profile {profile.min}..{profile.max} does not fit input {first.name} "
                         f"{first.shape} ({first.dtype}) of the model")
    out = {first.name: profile}
    for spec in artifact.inputs[1:]:
        if any(not isinstance(d, int) for d in spec.shape[1:]):
            raise ValueError(f"input {spec.name} {spec.shape}: only the batch axis may be dynamic")
        rest = tuple(int(d) for d in spec.shape[1:])
        if isinstance(spec.shape[0], int):
            shape = (spec.shape[0], *rest)
            out[spec.name] = ShapeProfile(shape, shape, shape)
        else:
            batches = (profile.min[0], profile.opt[0], profile.max[0])
            out[spec.name] = ShapeProfile(*((batch, *rest) for batch in batches))
    return out


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file (ONNX identity here; training re-exports it for checkpoints)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def calibration_sha256(artifact: Artifact) -> str | None:
    """The calibration-data hash a Q/DQ graph's sidecar records (None for other graphs)."""
    quantization = artifact.extra.get("quantization") or {}
    value = quantization.get("calibration_sha256")
    return str(value) if value else None


def make_key(onnx_path: Path, options: BuildOptions, environment: Environment) -> EngineKey:
    artifact = load_artifact(onnx_path)
    return EngineKey(onnx_sha256=file_sha256(onnx_path), environment=environment,
                     precision=options.precision, profile=options.profile or profile_for(artifact),
                     dla_core=options.dla_core, calibration_sha256=calibration_sha256(artifact))


def timing_cache_path(cache_dir: Path, environment: Environment) -> Path:
    """One timing cache per TensorRT version and GPU: TensorRT rejects (or, told to ignore the
    mismatch, misuses) timings measured on another device or version."""
    name = f"trt{environment.tensorrt_version}-{environment.gpu_name}-sm{environment.compute_capability}"
    return cache_dir / f"timing-{re.sub(r'[^A-Za-z0-9.]+', '_', name)}.cache"


def write_atomic(path: Path, data: bytes) -> None:
    """Write through a temporary file in the same folder + os.replace, so a reader (another
    process building or loading at the same time) sees the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=path.name + ".", suffix=".tmp",
                                     delete=False) as tmp:
        tmp.write(data)
    try:
        os.replace(tmp.name, path)
    except OSError:
        os.unlink(tmp.name)
        raise


def recorded_key(engine_path: Path) -> dict[str, Any] | None:
    """The key facts stored in an engine's sidecar, or None when it has none."""
    try:
        return load_artifact(engine_path).extra.get("tensorrt", {}).get("key")
    except (ValueError, OSError):
        return None


Builder = Callable[[Path, BuildOptions], bytes]


class EngineCache:
    """Directory of engines keyed by EngineKey.digest(); see the module docstring."""

    def __init__(self, cache_dir: str | Path | None = None) -> None:
        default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "rain_seg_ros" / "engines"
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir else default

    def engine_path(self, onnx_path: Path, key: EngineKey) -> Path:
        return self.cache_dir / f"{onnx_path.stem}-{key.digest()[:16]}.engine"

    def lookup(self, onnx_path: Path, key: EngineKey) -> tuple[str, Path]:
        """("hit" | "miss" | "stale", engine path for this key).

        "stale": engines of this ONNX stem exist, but none was built for this key (another
        GPU, TensorRT version, precision, profile, ONNX or calibration data), or the file at this key's path
        records a different key (corrupt or hand-copied).
        """
        path = self.engine_path(onnx_path, key)
        if path.is_file():
            if recorded_key(path) == key.as_dict():
                return "hit", path
            return "stale", path
        others = [p for p in self.cache_dir.glob(f"{onnx_path.stem}-*.engine") if p != path]
        return ("stale" if others else "miss"), path

    def get_or_build(self, onnx_path: str | Path, options: BuildOptions, environment: Environment,
                     build: Builder) -> Path:
        """Path of a valid engine for (onnx, options, environment), building it if needed."""
        onnx_path = Path(onnx_path)
        key = make_key(onnx_path, options, environment)
        state, path = self.lookup(onnx_path, key)
        if state == "hit":
            log.info("TensorRT engine cache hit: %s", path)
            return path
        if state == "stale":
            log.warning("cached TensorRT engine(s) for %s do not match this key (%s, TensorRT %s, %s, "
                        "profile %s): rebuilding", onnx_path.name, environment.gpu_name,
                        environment.tensorrt_version, options.precision, key.profile)
        else:
            log.info("no cached TensorRT engine for %s: building (this can take minutes)", onnx_path.name)
        write_atomic(path, build(onnx_path, options))  # a half-written engine is never picked up
        artifact = load_artifact(onnx_path)
        record = {"key": key.as_dict(), "digest": key.digest(), "onnx": str(onnx_path.resolve()),
                  "build": asdict(options)}
        write_artifact(replace(artifact, extra={**artifact.extra, "tensorrt": record}), path)
        return path
