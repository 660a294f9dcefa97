"""Export one nn.Module to a torch.export program (`.pt2`) for the runtime's PyTorch backend.

Example:
    export_pt2(model.eval(), artifact, "out/segformer.pt2")
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from export.sidecar import merge_sidecar
from export.to_onnx import dynamic_shapes, example_inputs
from rain_seg_ros.artifact import Artifact, write_artifact

log = logging.getLogger(__name__)


def export_pt2(module: torch.nn.Module, artifact: Artifact, out: str | Path) -> Path:
    """torch.export.export the module (inference graph) and torch.export.save it with its sidecar."""
    out = Path(out)
    if out.suffix != ".pt2":
        raise ValueError(f"torch.export output must end in .pt2, got {out}")
    artifact = merge_sidecar(artifact, out)
    out.parent.mkdir(parents=True, exist_ok=True)
    x = example_inputs(artifact, batch=2 if artifact.dynamic_batch else 1)
    with torch.no_grad():
        program = torch.export.export(module.eval(), x, dynamic_shapes=dynamic_shapes(artifact))
    # inference IR: no autograd ops, batch-norm in eval form
    program = program.run_decompositions({})
    torch.export.save(program, str(out))
    write_artifact(artifact, out)
    log.info("wrote %s (%.1f MB) and its sidecar", out, out.stat().st_size / 1e6)
    return out
