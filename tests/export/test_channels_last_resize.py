"""export/channels_last_resize.py on hand-made graphs: the swapped graph computes a numpy bilinear
upsample (half-pixel centres, edges clamped) read channels-last, and leaves other Resizes alone."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from export.channels_last_resize import resize_channels_last


def _bilinear_nhwc(x: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """numpy reference: (B, C, h, w) -> (B, out_h, out_w, C), half_pixel coordinates, float64."""
    def weights(n_in: int, n_out: int) -> np.ndarray:
        src = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
        lo = np.floor(src).astype(int)
        hi = np.minimum(lo + 1, n_in - 1)
        m = np.zeros((n_out, n_in))
        np.add.at(m, (np.arange(n_out), lo), 1 - (src - lo))
        np.add.at(m, (np.arange(n_out), hi), src - lo)
        return m
    up = np.einsum("Hh,bchw,Ww->bcHW", weights(x.shape[2], out_h), x.astype(np.float64),
                   weights(x.shape[3], out_w))
    return up.transpose(0, 2, 3, 1)


def _model(sizes_from_shape: bool, second_reader: bool = False, scales: bool = False) -> onnx.ModelProto:
    """x (B, 5, 4, 6) -> Resize to (B, 5, 8, 18) -> Transpose to channels-last -> y; sizes a constant
    or computed from x's shape (a dynamic batch), or constant scales."""
    inits = [numpy_helper.from_array(np.array([], np.float32), "roi")]
    nodes = []
    if scales:
        inits.append(numpy_helper.from_array(np.array([1, 1, 2, 3], np.float32), "scales"))
    elif sizes_from_shape:
        inits.append(numpy_helper.from_array(np.array([8, 18], np.int64), "hw"))
        nodes += [helper.make_node("Shape", ["x"], ["shape"], end=2),
                  helper.make_node("Concat", ["shape", "hw"], ["sizes"], axis=0)]
    else:
        inits.append(numpy_helper.from_array(np.array([2, 5, 8, 18], np.int64), "sizes"))
    resize_in = ["x", "roi", "scales"] if scales else ["x", "roi", "", "sizes"]
    nodes += [helper.make_node("Resize", resize_in, ["up"], mode="linear",
                               coordinate_transformation_mode="half_pixel"),
              helper.make_node("Transpose", ["up"], ["y"], perm=[0, 2, 3, 1])]
    batch = "batch" if sizes_from_shape else 2
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 8, 18, 5])]
    if second_reader:
        nodes.append(helper.make_node("Relu", ["up"], ["z"]))
        outputs.append(helper.make_tensor_value_info("z", TensorProto.FLOAT, [batch, 5, 8, 18]))
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                          [batch, 5, 4, 6])],
                              outputs, inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=9)


def _run(model: onnx.ModelProto, x: np.ndarray) -> list[np.ndarray]:
    onnx.checker.check_model(model, full_check=True)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {"x": x})


@pytest.mark.parametrize(("sizes_from_shape", "scales"), [(False, False), (True, False), (False, True)])
def test_swapped_resize_is_the_channels_last_bilinear_upsample(sizes_from_shape, scales):
    model = _model(sizes_from_shape, scales=scales)
    assert resize_channels_last(model) == 1
    ops = [n.op_type for n in model.graph.node if n.op_type in ("Transpose", "Resize")]
    assert ops == ["Transpose", "Resize"]
    x = np.random.default_rng(0).standard_normal((2, 5, 4, 6)).astype(np.float32)
    (y,) = _run(model, x)
    assert y.shape == (2, 8, 18, 5)
    np.testing.assert_allclose(y, _bilinear_nhwc(x, 8, 18), rtol=0, atol=1e-5)


def test_a_constant_size_is_reordered_in_place_without_a_leftover():
    model = _model(sizes_from_shape=False)
    resize_channels_last(model)
    (sizes,) = [numpy_helper.to_array(t) for t in model.graph.initializer if t.name == "sizes"]
    assert sizes.tolist() == [2, 8, 18, 5] and len(model.graph.initializer) == 2


def test_a_resize_read_by_others_or_not_followed_by_channels_last_is_left_alone():
    model = _model(sizes_from_shape=False, second_reader=True)
    before = model.SerializeToString()
    assert resize_channels_last(model) == 0 and model.SerializeToString() == before
    model = _model(sizes_from_shape=False)
    model.graph.node[-1].attribute[0].ints[:] = [0, 3, 1, 2]
    assert resize_channels_last(model) == 0
    model = _model(sizes_from_shape=False)
    model.opset_import[0].version = 10                      # Resize-10: (X, scales), not rewritten
    assert resize_channels_last(model) == 0
