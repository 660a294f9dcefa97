"""Export one nn.Module to ONNX: dynamo exporter -> onnxslim -> onnx.checker, sidecar next to it.

Works on any module whose tensor inputs and outputs are described, in order, by an Artifact
(names, shapes, dtypes; a non-int batch dim makes the batch dynamic).

Example:
    export_onnx(model.eval(), artifact, "out/segformer.onnx", opset=18)
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import torch

from export.adaptive_pool import matmul_adaptive_pools
from export.channels_last_resize import resize_channels_last
from export.sidecar import merge_sidecar
from rain_seg_ros.artifact import Artifact, write_artifact

log = logging.getLogger(__name__)

DEFAULT_OPSET = 18


def example_inputs(artifact: Artifact, batch: int = 1, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """Random tensors shaped like the artifact's inputs (dynamic batch -> `batch`): uint8 or float32."""
    gen = torch.Generator().manual_seed(seed)
    out = []
    for spec in artifact.inputs:
        shape = [batch if not isinstance(d, int) else d for d in spec.shape]
        out.append(torch.randint(0, 256, shape, generator=gen, dtype=torch.uint8) if spec.dtype == "uint8"
                   else torch.randn(shape, generator=gen))
    return tuple(out)


def dynamic_shapes(artifact: Artifact) -> tuple[dict[int, torch.export.Dim], ...] | None:
    """torch.export dynamic_shapes per input: one Dim per name the sidecar gives (a shared "batch")."""
    named = {str(d): torch.export.Dim(str(d), min=1, max=1024) for spec in artifact.inputs
             for d in spec.shape if not isinstance(d, int)}
    dims = tuple({i: named[str(d)] for i, d in enumerate(spec.shape) if not isinstance(d, int)}
                 for spec in artifact.inputs)
    return dims if named else None


def export_onnx(module: torch.nn.Module, artifact: Artifact, out: str | Path, opset: int = DEFAULT_OPSET,
                slim: bool = True) -> Path:
    """Export `module` to `out` (.onnx) and write its sidecar; returns the ONNX path.

    Raises:
        onnx.checker.ValidationError if the exported graph is invalid.
    """
    import onnx
    import onnxslim

    out = Path(out)
    if out.suffix != ".onnx":
        raise ValueError(f"ONNX output must end in .onnx, got {out}")
    artifact = merge_sidecar(artifact, out)
    out.parent.mkdir(parents=True, exist_ok=True)
    module = module.eval()
    # batch 2 when the batch is dynamic: a batch of 1 lets the exporter specialise it to 1
    x = example_inputs(artifact, batch=2 if artifact.dynamic_batch else 1)
    # adaptive pools as MatMuls: the exporter's unrolled slices cost 12 % of ERF-PSPNet (adaptive_pool.py)
    with torch.no_grad(), matmul_adaptive_pools(module):
        program = torch.onnx.export(
            module, x, dynamo=True, opset_version=opset, verbose=False,
            input_names=[t.name for t in artifact.inputs], output_names=[t.name for t in artifact.outputs],
            dynamic_shapes=dynamic_shapes(artifact))
    if program is None:
        raise RuntimeError("torch.onnx.export returned no program")
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.onnx"
        program.save(str(raw))  # may spill large weights to external data in tmp; onnx.load pulls them back
        model = onnx.load(str(raw))
    # the argmax's upsample written channels-last: no full-resolution reorder (channels_last_resize.py)
    resize_channels_last(model)
    if slim:
        model = onnxslim.slim(model)
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, str(out))
    write_artifact(artifact, out)
    log.info("wrote %s (%.1f MB) and its sidecar", out, out.stat().st_size / 1e6)
    return out
