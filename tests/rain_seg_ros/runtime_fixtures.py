"""Tiny artifacts for runtime tests, built without the exporter.

A 1x1-convolution "segmenter" written directly with onnx.helper: its logits are an affine
map of the normalised input, so tests compute the expected output with plain numpy.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from rain_seg_ros.artifact import Artifact, TensorSpec, write_artifact

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def save_onnx(graph: onnx.GraphProto, path: Path, artifact: Artifact) -> Path:
    """A hand-built graph (opset 18) checked and saved at `path`, with its sidecar."""
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    write_artifact(artifact, path)
    return path


def conv_weights(num_classes: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(num_classes, 3)).astype(np.float32) * 3,
            rng.normal(size=num_classes).astype(np.float32))


def seg_artifact(height: int, width: int, num_classes: int, batch: int | str = "batch",
                 **overrides: object) -> Artifact:
    fields: dict = dict(
        task="segmentation",
        inputs=[TensorSpec("image", [batch, 3, height, width])],
        outputs=[TensorSpec("logits", [batch, num_classes, height, width])],
        input_size=(height, width), mean=MEAN, std=STD,
        class_names=[f"c{i}" for i in range(num_classes)],
        palette=[(10 * i, 255 - 10 * i, 7 * i) for i in range(num_classes)], ignore_index=255)
    fields.update(overrides)
    return Artifact(**fields)


def write_conv_onnx(path: Path, artifact: Artifact, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Write a 1x1 conv model for `artifact` at `path` (+ sidecar); returns its (weight, bias)."""
    c = artifact.output.shape[1]
    assert isinstance(c, int)
    weight, bias = conv_weights(c, seed)
    shape_in = [d if isinstance(d, int) else str(d) for d in artifact.input.shape]
    shape_out = [d if isinstance(d, int) else str(d) for d in artifact.output.shape]
    graph = helper.make_graph(
        [helper.make_node("Conv", ["image", "w", "b"], ["logits"])], "conv1x1",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, shape_in)],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, shape_out)],
        initializer=[numpy_helper.from_array(weight[:, :, None, None], "w"),
                     numpy_helper.from_array(bias, "b")])
    save_onnx(graph, path, artifact)
    return weight, bias


def graph_seg_artifact(height: int, width: int, num_classes: int, batch: int | str = "batch",
                       **overrides: object) -> Artifact:
    """Sidecar of a segmenter with results in the graph (contract "ids_confidence_u8")."""
    fields: dict = dict(
        inputs=[TensorSpec("image", [batch, height, width, 3], "uint8")],
        outputs=[TensorSpec("mask", [batch, height, width], "uint8"),
                 TensorSpec("confidence", [batch, height, width], "uint8")],
        contract="ids_confidence_u8")
    fields.update(overrides)
    return seg_artifact(height, width, num_classes, batch, **fields)


def write_conv_graph_onnx(path: Path, artifact: Artifact, seed: int = 0,
                          depthwise: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The 1x1 conv of write_conv_onnx inside the ids_confidence_u8 contract, written node by node:
    uint8 NHWC -> normalise -> conv -> ArgMax and 255 / sum exp(l - max) as uint8. The normalisation
    is Mul + Sub (exports before ac0affd) or, with depthwise, a named depthwise 1x1 Conv as
    export/graphs.py writes it now."""
    c = len(artifact.class_names)
    weight, bias = conv_weights(c, seed)
    scale = (1.0 / (255.0 * np.asarray(STD, np.float32))).reshape(1, 3, 1, 1).astype(np.float32)
    offset = (np.asarray(MEAN, np.float32) / np.asarray(STD, np.float32)).reshape(1, 3, 1, 1)
    u8 = TensorProto.UINT8
    nodes = [
        helper.make_node("Transpose", ["image"], ["nchw"], perm=[0, 3, 1, 2]),
        helper.make_node("Cast", ["nchw"], ["xf"], to=TensorProto.FLOAT),
        *([helper.make_node("Conv", ["xf", "dw_w", "dw_b"], ["x"], group=3, name="normalise")]
          if depthwise else [helper.make_node("Mul", ["xf", "scale"], ["xs"]),
                             helper.make_node("Sub", ["xs", "offset"], ["x"])]),
        helper.make_node("Conv", ["x", "w", "b"], ["logits"], name="model_conv"),
        helper.make_node("ArgMax", ["logits"], ["ids64"], axis=1, keepdims=0),
        helper.make_node("Cast", ["ids64"], ["mask"], to=u8),
        helper.make_node("ReduceMax", ["logits", "axis1"], ["top"], keepdims=1),
        helper.make_node("Sub", ["logits", "top"], ["shifted"]),
        helper.make_node("Exp", ["shifted"], ["e"]),
        helper.make_node("ReduceSum", ["e", "axis1"], ["denom"], keepdims=0),
        helper.make_node("Div", ["c255", "denom"], ["p255"]),
        helper.make_node("Round", ["p255"], ["rounded"]),
        helper.make_node("Cast", ["rounded"], ["confidence"], to=u8),
    ]
    io = [helper.make_tensor_value_info(t.name, u8, [d if isinstance(d, int) else str(d) for d in t.shape])
          for t in (*artifact.inputs, *artifact.outputs)]
    graph = helper.make_graph(
        nodes, "conv1x1_in_graph", io[:1], io[1:],
        initializer=[numpy_helper.from_array(weight[:, :, None, None], "w"),
                     numpy_helper.from_array(bias, "b"),
                     numpy_helper.from_array(scale, "scale"), numpy_helper.from_array(offset, "offset"),
                     numpy_helper.from_array(scale.reshape(3, 1, 1, 1), "dw_w"),
                     numpy_helper.from_array(-offset.reshape(3), "dw_b"),
                     numpy_helper.from_array(np.array([1], np.int64), "axis1"),
                     numpy_helper.from_array(np.array(255.0, np.float32), "c255")])
    save_onnx(graph, path, artifact)
    return weight, bias


def reference_logits(rgb: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Expected (C, H, W) logits of the conv model for an RGB uint8 image already at model size."""
    x = (rgb.astype(np.float64) / 255.0 - np.asarray(MEAN)) / np.asarray(STD)   # (H, W, 3)
    return np.einsum("hwk,ck->chw", x, weight.astype(np.float64)) + bias[:, None, None]


def write_dsanet_onnx(folder: Path, height: int, width: int, code_channels: int, styles: int,
                      stem: str = "dsa") -> dict[str, np.ndarray]:
    """A linear stand-in for an exported DSANet, with the real I/O and sidecars.

    encoder: 4x4 average pool, then a 1x1 conv 3 -> C        (B, 3, H, W) -> (B, C, H/4, W/4)
    generator: 1x1 conv C -> 3, nearest x4 upsampling, sigmoid (B, C, h, w) -> (B, 3, H, W)
    Returns the weights and the bank codes so tests can compute outputs with numpy.
    """
    from safetensors.numpy import save_file

    rng = np.random.default_rng(3)
    h, w = height // 4, width // 4
    we = rng.normal(size=(code_channels, 3)).astype(np.float32)
    wg = (rng.normal(size=(3, code_channels)) * 0.5).astype(np.float32)
    bank = rng.normal(size=(styles, code_channels // 2, h, w)).astype(np.float32)
    enc = helper.make_graph(
        [helper.make_node("AveragePool", ["image"], ["pooled"], kernel_shape=[4, 4], strides=[4, 4]),
         helper.make_node("Conv", ["pooled", "we"], ["feature"])], "encoder",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, height, width])],
        [helper.make_tensor_value_info("feature", TensorProto.FLOAT, [1, code_channels, h, w])],
        initializer=[numpy_helper.from_array(we[:, :, None, None], "we")])
    gen = helper.make_graph(
        [helper.make_node("Conv", ["feature", "wg"], ["low"]),
         helper.make_node("Resize", ["low", "", "scales"], ["up"], mode="nearest"),
         helper.make_node("Sigmoid", ["up"], ["image"])], "generator",
        [helper.make_tensor_value_info("feature", TensorProto.FLOAT, [1, code_channels, h, w])],
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, height, width])],
        initializer=[numpy_helper.from_array(wg[:, :, None, None], "wg"),
                     numpy_helper.from_array(np.array([1, 1, 4, 4], np.float32), "scales")])
    extra = {"code_channels": code_channels, "no_rain_code": "zeros", "encoder": f"{stem}_encoder",
             "generator": f"{stem}_generator", "rain_bank": f"{stem}_rain_bank.safetensors"}
    image = TensorSpec("image", [1, 3, height, width])
    feature = TensorSpec("feature", [1, code_channels, h, w])
    for name, graph, inputs, outputs in (("encoder", enc, [image], [feature]),
                                         ("generator", gen, [feature], [image])):
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
        model.ir_version = 9
        path = folder / f"{stem}_{name}.onnx"
        onnx.save(model, str(path))
        write_artifact(Artifact(task=f"dsanet_{name}", inputs=inputs, outputs=outputs,
                                input_size=(height, width), extra=extra), path)
    save_file({"rain_codes": bank}, str(folder / f"{stem}_rain_bank.safetensors"),
              metadata={"format": "rain_seg_ros.rain_bank/1"})
    return {"we": we, "wg": wg, "bank": bank}


def write_conv_pt2(path: Path, artifact: Artifact, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The same 1x1 conv as write_conv_onnx, as a torch.export program (dynamic batch) + sidecar."""
    import torch

    c = artifact.output.shape[1]
    assert isinstance(c, int)
    weight, bias = conv_weights(c, seed)
    conv = torch.nn.Conv2d(3, c, 1).eval()
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(weight)[:, :, None, None])
        conv.bias.copy_(torch.from_numpy(bias))
    h, w = artifact.input_size
    program = torch.export.export(conv, (torch.zeros(2, 3, h, w),),
                                  dynamic_shapes=({0: torch.export.Dim("batch", min=1, max=64)},))
    torch.export.save(program, str(path))
    write_artifact(artifact, path)
    return weight, bias
