"""The ONNX graph a strongly typed TensorRT engine is built from, for the precision asked.

TensorRT 10 deprecates weakly typed precision control (BuilderFlag.FP16/INT8, implicit INT8
calibrators; TensorRT 11 removes them). A strongly typed network takes every tensor's type
from the graph, so the precision lives in the ONNX itself:
- fp32: the exported graph;
- fp16: the graph converted with onnxconverter-common's float16 pass, written as
  `name.fp16.onnx`; its inputs and outputs keep their types (float32 I/O stays float32,
  keep_io_types; the uint8 image, class ids and confidence of an `ids_confidence_u8` graph stay
  uint8), so the runtime's buffers do not change;
- int8: an explicitly quantized (Q/DQ) graph, `name.int8.onnx`, written by
  `python -m export tensorrt --int8 --calib-images DIR` (ModelOpt PTQ, see
  tensorrt_calibration); it cannot be made here without calibration images.
Derived graphs carry a sidecar (the source's, plus `extra["precision_graph"]` naming the
source ONNX sha256), so a stale derived graph is never used for a re-exported model.

Example:
    graph = graph_for_precision(Path("seg.onnx"), "fp16", out_dir=Path("~/.cache/rain_seg_ros/engines"))
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from rain_seg_ros.artifact import load_artifact, write_artifact
from rain_seg_ros.backends.base import BackendError
from rain_seg_ros.backends.engine_cache import file_sha256, write_atomic

if TYPE_CHECKING:
    import onnx

log = logging.getLogger(__name__)

QDQ_OPS = {"QuantizeLinear", "DequantizeLinear"}


def graph_precision(onnx_path: Path) -> str:
    """"int8" for a Q/DQ graph, "fp16" when it holds float16 tensors, else "fp32"."""
    import onnx
    from google.protobuf.message import DecodeError

    try:
        # the protobuf only (external weight files are not read); ONNX is data, never code
        model = onnx.load(str(onnx_path), load_external_data=False)
    except (OSError, ValueError, DecodeError) as exc:
        raise BackendError(f"{onnx_path} is not a readable ONNX model ({exc}); re-export it") from None
    graph = model.graph
    if any(node.op_type in QDQ_OPS for node in graph.node):
        return "int8"
    half = onnx.TensorProto.FLOAT16
    if any(t.data_type == half for t in graph.initializer) or any(
            v.type.tensor_type.elem_type == half
            for v in (*graph.input, *graph.output, *graph.value_info)):
        return "fp16"
    return "fp32"


def derived_graph_path(onnx_path: Path, precision: str, out_dir: Path) -> Path:
    return out_dir / f"{onnx_path.stem}.{precision}.onnx"


def _derived_from(candidate: Path, source_sha256: str) -> bool:
    """True when `candidate` exists and its sidecar says it was derived from that source ONNX."""
    if not candidate.is_file():
        return False
    try:
        record = load_artifact(candidate).extra.get("precision_graph") or {}
    except (ValueError, OSError):
        return False
    return record.get("source_sha256") == source_sha256


def _io_types(model: onnx.ModelProto) -> list[tuple[str, int]]:
    return [(v.name, v.type.tensor_type.elem_type) for v in (*model.graph.input, *model.graph.output)]


def _retarget_float_casts(model: onnx.ModelProto) -> None:
    """Point the graph's own Cast(to=FLOAT) nodes at FLOAT16 where the converter typed their output float16.

    onnxconverter-common 1.16 types the output of an in-graph cast to float (the uint8 image ->
    float of an ids_confidence_u8 graph) as float16 but leaves `to` = FLOAT, an invalid graph
    ("Type (tensor(float16)) of output arg ... does not match expected type (tensor(float))").
    Putting Cast on its op_block_list instead makes the 1.16 converter loop forever (measured).
    """
    import onnx

    fp16 = onnx.TensorProto.FLOAT16
    half = {v.name for v in model.graph.value_info if v.type.tensor_type.elem_type == fp16}
    for node in model.graph.node:
        if node.op_type == "Cast" and node.output[0] in half:
            for attribute in node.attribute:
                if attribute.name == "to" and attribute.i == onnx.TensorProto.FLOAT:
                    attribute.i = onnx.TensorProto.FLOAT16


def write_fp16_graph(onnx_path: Path, dest: Path) -> Path:
    """Convert `onnx_path` to float16 at `dest`, with its sidecar; input and output types are kept."""
    try:
        from onnxconverter_common import float16
    except ImportError:
        raise BackendError("fp16 TensorRT engines are built from an fp16 ONNX and onnxconverter-common "
                           "is not installed: pip install onnxconverter-common (or ask for fp32)") from None
    import onnx

    model = onnx.load(str(onnx_path))
    # ArgMax and the casts to uint8 are left as they are: integer outputs are not float16 candidates
    half = float16.convert_float_to_float16(model, keep_io_types=True)
    _retarget_float_casts(half)
    if _io_types(half) != _io_types(model):
        raise BackendError(f"the fp16 conversion of {onnx_path} changed its input/output types "
                           f"({_io_types(model)} -> {_io_types(half)}); build fp32 instead")
    write_atomic(dest, half.SerializeToString())
    artifact = load_artifact(onnx_path)
    record = {"precision": "fp16", "source_sha256": file_sha256(onnx_path), "source": onnx_path.name,
              "converter": "onnxconverter_common.float16"}
    write_artifact(replace(artifact, extra={**artifact.extra, "precision_graph": record}), dest)
    log.info("fp16 graph for TensorRT: %s", dest)
    return dest


def graph_for_precision(onnx_path: Path, precision: str, out_dir: Path) -> Path:
    """The graph to build a strongly typed `precision` engine from.

    A graph that is already fp16 or Q/DQ decides its own precision (a strongly typed build
    cannot change it); asking for another one is logged. Derived graphs are looked for next
    to `onnx_path` (shipped by export), then in `out_dir`; an fp16 one is made in `out_dir`.
    """
    own = graph_precision(onnx_path)
    if own != "fp32" or precision == "fp32":
        if own != precision:
            log.warning("%s is an %s graph: its engine is %s whatever precision is asked (%s)",
                        onnx_path.name, own, own, precision)
        return onnx_path
    source = file_sha256(onnx_path)
    for folder in (onnx_path.parent, out_dir):
        candidate = derived_graph_path(onnx_path, precision, folder)
        if _derived_from(candidate, source):
            return candidate
    if precision == "int8":
        raise BackendError(f"int8 needs a Q/DQ graph {onnx_path.stem}.int8.onnx next to {onnx_path}: "
                           f"make it with python -m export tensorrt --onnx {onnx_path} --int8 "
                           f"--calib-images DIR")
    return write_fp16_graph(onnx_path, derived_graph_path(onnx_path, "fp16", out_dir))
