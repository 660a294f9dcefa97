"""INT8 for TensorRT by explicit quantization: ModelOpt PTQ writes a Q/DQ ONNX from calibration images.

`CalibrationBatches` is plain numpy (tested without TensorRT): it reads the images, runs the
SAME preprocessing as inference and yields fixed-size batches of what the graph takes: uint8
(B, H, W, 3) in the model's colour order for an `ids_confidence_u8` graph (normalisation is in
the graph), normalised (B, 3, H, W) float32 for an older "float" export.

The uint8 graph is calibrated as it is, not its bare float network before wrapping: ModelOpt
puts Q/DQ on the float ops inside (Conv, MatMul, ...) whichever graph it is given, and the
first conv's input scale is measured on the same normalised activations either way, since the
Cast and the normalisation in front compute exactly that; the integer input and the ArgMax/Cast
tail are not quantized. Exports since ac0affd normalise with a depthwise 1x1 Conv
(export/graphs.py): that Conv is named to ModelOpt's nodes_to_exclude (`normalisation_nodes`), so
the raw 0..255 pixels are not squeezed through an int8 scale before the model's first layer
(ModelOpt's own rule may skip a 3-channel Conv anyway; naming it does not depend on that).
Calibrating the deployed graph means the engine is built from the graph the sidecar describes (no
second export to splice), and the calibration set is held as uint8, a quarter of the memory of
float batches. UNVERIFIED that ModelOpt's calibration accepts uint8 inputs (its
calibration runs the graph in ONNX Runtime, which takes them); no ModelOpt here.

`write_int8_graph` stacks the batches (memory bounded), hashes them,
and runs NVIDIA ModelOpt's ONNX post-training quantization
(`modelopt.onnx.quantization.quantize`, entropy calibration) to write `name.int8.onnx`: a
Q/DQ graph that TensorRT builds strongly typed on any target. Its sidecar records the
calibration data's sha256, which the engine cache key includes. The Q/DQ graph replaces
TensorRT's implicit INT8 calibrators (IInt8EntropyCalibrator2 + BuilderFlag.INT8,
deprecated in TensorRT 10, removed in 11) and their calibration cache: it is the
calibration result, shipped next to an exported engine so any GPU can rebuild it.

UNVERIFIED against a real ModelOpt install (none here: it is imported lazily; tests stand a
fake in for it and check what it is handed).

Example:
    batches = CalibrationBatches("calib_images/", load_artifact("seg.onnx"), batch_size=1)
    graph = write_int8_graph(Path("seg.onnx"), batches, Path("seg.int8.onnx"), device_index=0)
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np

from rain_seg_ros.artifact import Artifact, load_artifact, write_artifact
from rain_seg_ros.backends.base import BackendError
from rain_seg_ros.backends.engine_cache import file_sha256
from rain_seg_ros.preprocess import list_images, preprocess, preprocess_u8, read_rgb

log = logging.getLogger(__name__)

# calibration tensors are held in memory at once (ModelOpt takes one array): refuse beyond this
MAX_CALIBRATION_BYTES = 4 << 30


class CalibrationBatches:
    """Fixed-size preprocessed batches from the images under `image_dir` (recursive, sorted).

    Args:
        image_dir: folder of calibration images (any sizes; representative of deployment).
        artifact: the model's sidecar, whose preprocessing is applied.
        batch_size: images per batch = the batch of the calibration profile's opt shape (TensorRT
            calibrates at that shape); a last partial batch is dropped.
        max_images: use at most this many images (the first ones in sorted order).
    """

    def __init__(self, image_dir: str | Path, artifact: Artifact, batch_size: int = 8,
                 max_images: int | None = None) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if artifact.contract not in ("float", "ids_confidence_u8") or len(artifact.inputs) != 1:
            raise ValueError(f"int8 calibration is offered for one-input segmentation graphs, not a "
                             f"{artifact.contract!r} graph with inputs {[t.name for t in artifact.inputs]}; "
                             f"build it in fp16")
        files = list_images(image_dir, max_images)
        if len(files) < batch_size:
            raise ValueError(f"{image_dir} has {len(files)} images, fewer than one batch of {batch_size}")
        self.files = files[: len(files) // batch_size * batch_size]
        self.artifact = artifact
        self.batch_size = batch_size

    def __len__(self) -> int:
        return len(self.files) // self.batch_size

    @property
    def uint8_input(self) -> bool:
        return self.artifact.contract == "ids_confidence_u8"

    @property
    def shape(self) -> tuple[int, int, int, int]:
        h, w = self.artifact.input_size
        return (self.batch_size, h, w, 3) if self.uint8_input else (self.batch_size, 3, h, w)

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.uint8 if self.uint8_input else np.float32)

    def __iter__(self) -> Iterator[np.ndarray]:
        for start in range(0, len(self.files), self.batch_size):
            images = [read_rgb(path) for path in self.files[start:start + self.batch_size]]
            # what the graph takes: uint8 (B, H, W, 3), or float32 (B, 3, H, W) normalised
            batch, _ = (preprocess_u8 if self.uint8_input else preprocess)(images, self.artifact)
            yield batch


def calibration_data(batches: CalibrationBatches, max_bytes: int = MAX_CALIBRATION_BYTES) -> np.ndarray:
    """All calibration inputs as one (N, ...) array of the graph's input dtype, refused past `max_bytes`."""
    n = len(batches) * batches.batch_size
    size = n * int(np.prod(batches.shape[1:])) * batches.dtype.itemsize
    if size > max_bytes:
        h, w = batches.artifact.input_size
        raise ValueError(f"{n} calibration images at {h}x{w} need "
                         f"{size / 2**30:.1f} GiB, over the {max_bytes / 2**30:.1f} GiB limit: "
                         f"lower --calib-max-images")
    data = np.empty((n, *batches.shape[1:]), dtype=batches.dtype)   # filled in place
    for i, batch in enumerate(batches):
        data[i * batches.batch_size:(i + 1) * batches.batch_size] = batch
    return data


def data_sha256(data: np.ndarray) -> str:
    """sha256 of an array's dtype, shape and bytes: the identity of what calibration saw."""
    h = hashlib.sha256(f"{data.dtype.str}{data.shape}".encode())
    h.update(np.ascontiguousarray(data).tobytes())
    return h.hexdigest()


def normalisation_nodes(onnx_path: Path) -> list[str]:
    """Names of the in-graph normalisation Conv of a uint8 graph (input -> Transpose/Cast ->
    depthwise 1x1 Conv, export/graphs.py), or [] when the graph has none (older Cast/Mul/Sub
    exports, float exports, unnamed nodes)."""
    import onnx

    graph = onnx.load(str(onnx_path), load_external_data=False).graph
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    tensor = graph.input[0].name
    while len(consumers.get(tensor, [])) == 1:
        (node,) = consumers[tensor]
        if node.op_type == "Conv":
            group = next((a.i for a in node.attribute if a.name == "group"), 1)
            return [node.name] if group == 3 and node.name else []
        if node.op_type not in ("Transpose", "Cast") or len(node.output) != 1:
            return []
        tensor = node.output[0]
    return []


def _quantize(onnx_path: Path, input_name: str, data: np.ndarray, output: Path, device_index: int) -> None:
    try:
        from modelopt.onnx.quantization import quantize
    except ImportError:
        raise BackendError("int8 calibration needs NVIDIA ModelOpt: pip install 'nvidia-modelopt[onnx]' "
                           "(or give a Q/DQ ONNX with --qdq)") from None
    shape = "x".join(str(d) for d in (1, *data.shape[1:]))
    # ModelOpt matches these patterns against node names: exactly the normalisation Conv
    exclude = [f"^{re.escape(name)}$" for name in normalisation_nodes(onnx_path)]
    quantize(onnx_path=str(onnx_path), quantize_mode="int8", calibration_data={input_name: data},
             calibration_method="entropy", calibration_shapes=f"{input_name}:{shape}",
             # calibrate on the device the engine is for, CPU when ORT has no CUDA there
             calibration_eps=[f"cuda:{device_index}", "cpu"], nodes_to_exclude=exclude or None,
             output_path=str(output))


def write_int8_graph(onnx_path: Path, batches: CalibrationBatches, dest: Path, device_index: int = 0,
                     max_bytes: int = MAX_CALIBRATION_BYTES) -> Path:
    """Q/DQ graph of `onnx_path` calibrated on `batches`, at `dest` with its sidecar.

    Reused without recalibrating when `dest`'s sidecar records the same source ONNX and the
    same calibration data hash.
    Returns:
        `dest`.
    """
    data = calibration_data(batches, max_bytes)
    record = {"precision": "int8", "source_sha256": file_sha256(onnx_path), "source": onnx_path.name}
    calibration = data_sha256(data)
    quantization = {"method": "modelopt.onnx.quantization int8 entropy", "calibration_sha256": calibration,
                    "calibration_images": int(data.shape[0])}
    if dest.is_file():
        try:
            extra = load_artifact(dest).extra
        except (ValueError, OSError):
            extra = {}
        if (extra.get("precision_graph", {}).get("source_sha256") == record["source_sha256"]
                and extra.get("quantization", {}).get("calibration_sha256") == calibration):
            log.info("%s is already calibrated on these images", dest)
            return dest
    artifact = load_artifact(onnx_path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=dest.name + ".", suffix=".tmp.onnx")
    os.close(fd)
    try:
        _quantize(onnx_path, artifact.input.name, data, Path(tmp_name), device_index)
        os.replace(tmp_name, dest)    # atomic: a half-written graph is never built from
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
    extra = {**artifact.extra, "precision_graph": record, "quantization": quantization}
    write_artifact(replace(artifact, extra=extra), dest)
    log.info("int8 Q/DQ graph %s from %d calibration images", dest, data.shape[0])
    return dest
