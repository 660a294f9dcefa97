"""Multi-output runs: named outputs, uint8 inputs, the IO-binding path (run on CPU) and the
torch backend's reusable host buffers, against a numpy reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.special import softmax

from rain_seg_ros.backends import open_backend
from rain_seg_ros.backends.onnxruntime import pruned_model, run_bound
from rain_seg_ros.backends.torch_program import HostBuffers

from .runtime_fixtures import graph_seg_artifact, reference_logits, write_conv_graph_onnx


@pytest.fixture(scope="module")
def graph_onnx(tmp_path_factory):
    path = tmp_path_factory.mktemp("graph") / "g.onnx"
    weight, bias = write_conv_graph_onnx(path, graph_seg_artifact(8, 16, 4))
    return path, weight, bias


def _reference(images: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    probs = np.stack([softmax(reference_logits(rgb, weight, bias), axis=0) for rgb in images])
    return probs.argmax(1), np.rint(probs.max(1) * 255)


@pytest.mark.parametrize("bound", [False, True])
def test_named_outputs_with_and_without_io_binding(graph_onnx, bound):
    path, weight, bias = graph_onnx
    images = np.random.default_rng(0).integers(0, 256, (3, 8, 16, 3), dtype=np.uint8)
    ids_ref, conf_ref = _reference(images, weight, bias)
    with open_backend(path, backend="onnxruntime", device="cpu") as runner:
        runner._bound = bound        # the CUDA provider's path, exercised with CPU memory here
        ids, conf = runner.run([images])
        (conf_only,) = runner.run([images], ["confidence"])
        with pytest.raises(ValueError, match="uint8"):
            runner.run([images.astype(np.float32)])      # never a silent cast of an image
        with pytest.raises(ValueError, match="outputs"):
            runner.run([images], ["logits"])
    assert ids.dtype == conf.dtype == np.uint8 and ids.shape == (3, 8, 16)
    np.testing.assert_array_equal(ids, ids_ref)
    assert np.abs(conf.astype(int) - conf_ref).max() <= 1
    np.testing.assert_array_equal(conf_only, conf)


def test_run_bound_fetches_only_the_bound_outputs(graph_onnx):
    import onnxruntime as ort

    path, weight, bias = graph_onnx
    images = np.random.default_rng(1).integers(0, 256, (2, 8, 16, 3), dtype=np.uint8)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (ids,) = run_bound(session, {"image": images}, ["mask"])
    np.testing.assert_array_equal(ids, _reference(images, weight, bias)[0])


def test_host_buffers_are_allocated_once_per_shape():
    buffers = HostBuffers(torch, pin=False)     # pinned only with CUDA; the bookkeeping is the same
    a = buffers.get("in0", (2, 8, 16, 3), torch.uint8)
    assert buffers.get("in0", (2, 8, 16, 3), torch.uint8) is a and len(buffers) == 1
    b = buffers.get("in0", (1, 8, 16, 3), torch.uint8)     # another batch size: another buffer
    c = buffers.get("out:mask", (2, 8, 16), torch.uint8)
    assert b is not a and c.shape == (2, 8, 16) and c.dtype == torch.uint8 and len(buffers) == 3
    assert not a.is_pinned()


def test_a_subset_of_outputs_runs_a_graph_without_the_other_branch(graph_onnx):
    import onnx

    path, weight, bias = graph_onnx
    # ONNX Runtime would run the Exp chain for a mask-only run of the full graph
    cut = onnx.load_from_string(pruned_model(path, ["image"], ["mask"]))
    ops = {n.op_type for n in cut.graph.node}
    assert "ArgMax" in ops and not ops & {"Exp", "ReduceSum", "Div"}
    assert [o.name for o in cut.graph.output] == ["mask"]
    images = np.random.default_rng(2).integers(0, 256, (1, 8, 16, 3), dtype=np.uint8)
    with open_backend(path, backend="onnxruntime", device="cpu") as runner:
        (ids,) = runner.run([images], ["mask"])
        both = runner.run([images])
        assert list(runner._subsets) == [frozenset({"mask"})]     # the full graph for both outputs
    np.testing.assert_array_equal(ids, _reference(images, weight, bias)[0])
    np.testing.assert_array_equal(ids, both[0])
