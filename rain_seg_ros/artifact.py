"""Exported-model sidecars: `name.onnx` / `name.pt2` / `name.engine` + `name.json`.

The sidecar is the runtime's single source of preprocessing facts (DESIGN.md, Artifacts):
task, input/output tensors, colour order, mean/std, resize policy, class names, palette,
ignore index, the source checkpoint's sha256 and the exporter versions. Launch files and
node parameters never duplicate these, so deployment cannot drift from training.

Example:
    art = load_artifact("model.onnx")          # reads model.json
    art.input.shape                             # [1, 3, 256, 512] ("batch" when dynamic)
    write_artifact(art, "copy/model.onnx")      # writes copy/model.json
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

FORMAT = "rain_seg_ros.artifact/1"
TASKS = ("segmentation", "dsanet", "dsanet_encoder", "dsanet_generator", "cyclegan_generator", "condition")
# What crosses the model boundary. "float": float32 (B, 3, H, W) normalised in, float out (logits,
# features, [0, 1] images): every export before issue 13. "ids_confidence_u8": uint8 (B, H, W, 3)
# in, uint8 class ids "mask" and winning-class confidence "confidence" (B, h, w) out, the
# normalisation, argmax and max-softmax inside the graph. "image_u8": DSANet as one graph,
# uint8 image + rain code + intensity in, uint8 image out.
CONTRACTS = ("float", "ids_confidence_u8", "image_u8")
RESIZE_POLICIES = ("stretch", "letterbox")
COLOR_ORDERS = ("RGB", "BGR")
MODEL_SUFFIXES = (".onnx", ".pt2", ".engine")
MAX_SIDECAR_BYTES = 4 * 2**20  # a real sidecar is a few kB; a bigger one is refused before it is parsed


class ArtifactError(ValueError):
    """A sidecar is missing, malformed, or does not describe the model next to it."""


@dataclass
class TensorSpec:
    """One model input or output. Dynamic axes are named (e.g. "batch"), static ones are ints."""

    name: str
    shape: list[int | str]
    dtype: str = "float32"


@dataclass
class Artifact:
    """Everything the runtime needs to feed a model and read its output.

    Preprocessing is `((pixel / 255) - mean) / std` after resizing to `input_size` with
    `resize` ("stretch": to the exact size; "letterbox": keep aspect, pad with the mean colour)
    and reordering channels to `color_order`. DSANet models take [0, 1] images: mean 0, std 1.
    """

    task: str
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    input_size: tuple[int, int]                      # (H, W) the model was exported for
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    color_order: str = "RGB"
    resize: str = "stretch"
    class_names: list[str] = field(default_factory=list)
    palette: list[tuple[int, int, int]] = field(default_factory=list)
    ignore_index: int = 255
    source_checkpoint_sha256: str = ""
    exporter: dict[str, str] = field(default_factory=dict)  # tool -> version
    extra: dict[str, Any] = field(default_factory=dict)     # task-specific facts (rain bank, engine key)
    contract: str = "float"                                 # see CONTRACTS; absent in older sidecars

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ArtifactError(f"unknown task {self.task!r}; expected one of {TASKS}")
        if self.resize not in RESIZE_POLICIES:
            raise ArtifactError(f"unknown resize policy {self.resize!r}; expected one of {RESIZE_POLICIES}")
        if self.color_order not in COLOR_ORDERS:
            raise ArtifactError(f"unknown colour order {self.color_order!r}; expected one of {COLOR_ORDERS}")
        if self.contract not in CONTRACTS:
            raise ArtifactError(f"unknown contract {self.contract!r}; expected one of {CONTRACTS} "
                                f"(a newer exporter? update rain_seg_ros)")
        if not self.inputs or not self.outputs:
            raise ArtifactError("an artifact needs at least one input and one output tensor")
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            raise ArtifactError(f"mean/std must be 3 values with std > 0, got {self.mean} / {self.std}")
        if self.task == "segmentation" and self.palette and len(self.palette) < len(self.class_names):
            raise ArtifactError(f"palette has {len(self.palette)} colours for "
                                f"{len(self.class_names)} classes")
        self.input_size = (int(self.input_size[0]), int(self.input_size[1]))
        self.mean = (float(self.mean[0]), float(self.mean[1]), float(self.mean[2]))
        self.std = (float(self.std[0]), float(self.std[1]), float(self.std[2]))

    @property
    def input(self) -> TensorSpec:
        return self.inputs[0]

    @property
    def output(self) -> TensorSpec:
        return self.outputs[0]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def dynamic_batch(self) -> bool:
        return not isinstance(self.input.shape[0], int)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["format"] = FORMAT
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Artifact:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            found = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise ArtifactError(f"not a rain_seg_ros sidecar (format={found!r}, expected {FORMAT})")
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known - {"format"}
        if unknown:
            raise ArtifactError(f"sidecar has unknown keys {sorted(unknown)}")
        kwargs = {k: v for k, v in data.items() if k in known}
        try:
            kwargs["inputs"] = [TensorSpec(**t) for t in data["inputs"]]
            kwargs["outputs"] = [TensorSpec(**t) for t in data["outputs"]]
            kwargs["palette"] = [tuple(c) for c in data.get("palette", [])]
            return cls(**kwargs)
        except (KeyError, TypeError, ValueError) as exc:
            raise ArtifactError(f"malformed sidecar: {exc}") from exc


def sidecar_path(model_path: str | Path) -> Path:
    """`dir/name.onnx` -> `dir/name.json` (one sidecar per exported model file)."""
    p = Path(model_path)
    return p.with_suffix(".json") if p.suffix in MODEL_SUFFIXES else p.with_name(p.name + ".json")


def load_artifact(model_path: str | Path) -> Artifact:
    """Read the sidecar of a model file (or a sidecar path given directly)."""
    p = Path(model_path)
    path = p if p.suffix == ".json" else sidecar_path(p)
    if not path.is_file():
        raise ArtifactError(f"no sidecar {path} for {model_path}; export writes it next to the model "
                            f"(python -m export onnx|pt2 ...)")
    with path.open("rb") as f:
        raw = f.read(MAX_SIDECAR_BYTES + 1)  # bounded even if the file grows or lies about its size
    if len(raw) > MAX_SIDECAR_BYTES:
        raise ArtifactError(f"{path} is larger than {MAX_SIDECAR_BYTES} bytes: not a sidecar written by "
                            f"python -m export; re-export the model")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ArtifactError(f"{path}: not valid JSON ({exc})") from exc
    return Artifact.from_dict(data)


def write_artifact(artifact: Artifact, model_path: str | Path) -> Path:
    """Write the sidecar next to `model_path`; returns the sidecar path."""
    path = sidecar_path(model_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(artifact.to_dict(), indent=2) + "\n")
    return path
