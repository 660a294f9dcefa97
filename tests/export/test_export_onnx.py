"""`python -m export onnx|pt2`: exported files vs PyTorch (run by ORT / torch), sidecars, CLI."""

from __future__ import annotations

import json

import cv2
import numpy as np
import onnx
import pytest
import torch

from export.__main__ import main as export_main
from export.parity import BEFORE_UPSAMPLE_MEAN_LSB, BEFORE_UPSAMPLE_P99_LSB
from rain_seg_ros.artifact import load_artifact
from rain_seg_ros.backends import open_backend
from rain_seg_ros.labels import CITYSCAPES_PALETTE
from training.engine.checkpoint import file_sha256, load_modules, resolve_checkpoint


def test_onnx_is_valid_with_named_io_and_dynamic_batch(seg_exports):
    model = onnx.load(str(seg_exports / "seg.onnx"))
    onnx.checker.check_model(model, full_check=True)
    (inp,), outs = model.graph.input, model.graph.output
    assert inp.name == "image" and [o.name for o in outs] == ["mask", "confidence"]
    dims = [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim]
    assert dims == ["batch", 32, 64, 3]
    assert {t.type.tensor_type.elem_type for t in (inp, *outs)} == {onnx.TensorProto.UINT8}
    # results in the graph: argmax and the max-softmax are nodes of the exported model
    ops = {n.op_type for n in model.graph.node}
    assert {"ArgMax", "Exp"} <= ops


def test_sidecar_comes_from_the_checkpoint(seg_exports, seg_checkpoint):
    art = load_artifact(seg_exports / "seg.onnx")
    assert art.task == "segmentation" and art.input_size == (32, 64)
    assert art.contract == "ids_confidence_u8"
    assert art.input.shape == ["batch", 32, 64, 3] and art.input.dtype == "uint8"
    assert [(t.name, t.shape, t.dtype) for t in art.outputs] == [("mask", ["batch", 32, 64], "uint8"),
                                                                 ("confidence", ["batch", 16, 32], "uint8")]
    assert art.mean == (0.485, 0.456, 0.406) and art.std == (0.229, 0.224, 0.225)
    assert art.palette == [tuple(c) for c in CITYSCAPES_PALETTE] and art.class_names[0] == "road"
    assert art.source_checkpoint_sha256 == file_sha256(resolve_checkpoint(seg_checkpoint))
    assert art.exporter["opset"] == "18" and art.exporter["torch"] == torch.__version__
    sidecar = json.loads((seg_exports / "seg.json").read_text())   # shared by seg.onnx and seg.pt2
    assert sidecar["input_size"] == [32, 64] and sidecar["exporter"]["opset"] == "18"


def test_conflicting_export_of_the_same_stem_is_refused(seg_exports, seg_checkpoint, capsys):
    before = (seg_exports / "seg.pt2").read_bytes()
    argv = ["pt2", "--checkpoint", str(seg_checkpoint), "--out", str(seg_exports / "seg.pt2")]
    assert export_main(argv) == 2
    assert "describes seg" in capsys.readouterr().err
    assert (seg_exports / "seg.pt2").read_bytes() == before          # refused before writing anything


def test_dsanet_bank_problems_are_reported_before_exporting(dsanet_checkpoint, tmp_path, capsys):
    from safetensors.torch import save_file

    out = str(tmp_path / "d.onnx")
    assert export_main(["onnx", "--checkpoint", str(dsanet_checkpoint), "--out", out,
                        "--rain-bank", str(tmp_path / "none.safetensors")]) == 2
    assert "does not exist" in capsys.readouterr().err
    wrong = tmp_path / "wrong.safetensors"
    save_file({"rain_codes": torch.zeros(2, 3, 8, 16)}, str(wrong),
              metadata={"format": "rain_seg_ros.rain_bank/1"})
    argv = ["onnx", "--checkpoint", str(dsanet_checkpoint), "--out", out, "--rain-bank", str(wrong)]
    assert export_main(argv) == 2
    assert "3 channels" in capsys.readouterr().err
    assert not (tmp_path / "d.onnx").exists()


def _softmax_max(logits: np.ndarray) -> np.ndarray:
    """(B, C, h, w) -> (B, h, w) float64 max softmax, written out here as the independent reference."""
    z = logits.astype(np.float64) - logits.max(axis=1, keepdims=True)
    return np.exp(z).max(axis=1) / np.exp(z).sum(axis=1)


@pytest.mark.parametrize("suffix, batch", [(".onnx", 3), (".pt2", 2)])
def test_exported_graph_gives_numpy_argmax_and_low_resolution_softmax_of_the_pytorch_logits(
        seg_exports, seg_checkpoint, suffix, batch):
    model = load_modules(seg_checkpoint, ["model"])["model"]
    images = np.random.default_rng(3).integers(0, 256, (batch, 32, 64, 3), dtype=np.uint8)
    # independent reference: the raw network on float64-normalised input, numpy argmax / softmax
    x = (images / 255.0 - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
    with torch.no_grad():
        x_t = torch.from_numpy(x.transpose(0, 3, 1, 2)).float()
        logits = model(x_t).numpy()                       # (B, 19, 32, 64)
        low = model.body(x_t).numpy()                     # (B, 19, 16, 32): TinySegmenter before its upsample
    ref_ids = logits.argmax(axis=1)
    # the confidence is computed before the final bilinear upsample, at that resolution
    ref_conf = np.rint(255.0 * _softmax_max(low))             # (B, 16, 32)
    with open_backend(seg_exports / f"seg{suffix}", backend="onnxruntime" if suffix == ".onnx" else "torch",
                      device="cpu", trust_pt2=True) as runner:   # our own export: trusted
        ids, conf = runner.run([images])
        (only_ids,) = runner.run([images], ["mask"])
    assert load_artifact(seg_exports / "seg.onnx").extra["confidence"] == "low_resolution"
    assert ids.shape == (batch, 32, 64) and conf.shape == (batch, 16, 32)
    assert ids.dtype == conf.dtype == np.uint8
    assert (ids == ref_ids).mean() >= 0.999                   # ties: export/parity.py
    assert np.abs(conf.astype(int) - ref_conf).max() <= 1
    np.testing.assert_array_equal(only_ids, ids)
    # vs the max softmax of the upsampled logits (the definition before perf13): the tolerance
    # docs/export.md states for this diagnostic
    full = np.rint(255.0 * _softmax_max(logits))
    up = np.stack([cv2.resize(c, (64, 32), interpolation=cv2.INTER_LINEAR) for c in conf])  # host's resize
    diff = np.abs(up.astype(int) - full)
    assert diff.mean() <= BEFORE_UPSAMPLE_MEAN_LSB and np.percentile(diff, 99) <= BEFORE_UPSAMPLE_P99_LSB


def test_dsanet_exports_one_graph_and_the_rain_bank(dsanet_checkpoint, dsanet_exports):
    tmp_path = dsanet_exports
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dsa.json", "dsa.onnx", "dsa_rain_bank.safetensors"]
    art = load_artifact(tmp_path / "dsa.onnx")
    assert art.task == "dsanet" and art.contract == "image_u8"
    assert [(t.name, t.shape, t.dtype) for t in art.inputs] == [
        ("image", [1, 32, 64, 3], "uint8"), ("rain_code", [1, 4, 8, 16], "float32"),
        ("intensity", [1], "float32")]
    assert art.output.shape == [1, 32, 64, 3] and art.output.dtype == "uint8"
    assert art.extra["rain_bank"] == "dsa_rain_bank.safetensors" and art.extra["clean_rain_code"] == "own"
    modules = load_modules(dsanet_checkpoint)
    rgb = np.random.default_rng(4).integers(0, 256, (1, 32, 64, 3), dtype=np.uint8)
    code = np.random.default_rng(5).normal(size=(1, 4, 8, 16)).astype(np.float32)
    with torch.no_grad():   # the swap written out here: G(b + (1 - t) r_own + t code), t = 0.25
        feat = modules["encoder"](torch.from_numpy(rgb).permute(0, 3, 1, 2).float() / 255.0)
        rain = 0.75 * feat[:, 4:] + 0.25 * torch.from_numpy(code)
        img = modules["generator"](torch.cat([feat[:, :4], rain], 1)).permute(0, 2, 3, 1).numpy()
    expected = np.rint(np.clip(img, 0, 1) * 255)
    with open_backend(tmp_path / "dsa.onnx", backend="onnxruntime", device="cpu") as runner:
        (out,) = runner.run([rgb, code, np.array([0.25], np.float32)])
    assert out.dtype == np.uint8 and np.abs(out.astype(int) - expected).max() <= 1


def test_cli_rejects_bad_arguments(seg_checkpoint, tmp_path, capsys):
    with pytest.raises(SystemExit):
        export_main(["onnx", "--checkpoint", str(seg_checkpoint), "--out", str(tmp_path / "x.pt2")])
    with pytest.raises(SystemExit):
        export_main(["onnx", "--checkpoint", str(seg_checkpoint), "--out", str(tmp_path / "x.onnx"),
                     "--opset", "9"])
    with pytest.raises(SystemExit):
        export_main(["pt2", "--checkpoint", str(seg_checkpoint), "--out", str(tmp_path / "x.pt2"),
                     "--height", "0"])
    assert "--opset" in capsys.readouterr().err


def test_float_logits_exports_the_bare_network(seg_checkpoint, dsanet_checkpoint, tmp_path, capsys):
    out = tmp_path / "net.onnx"
    argv = ["onnx", "--checkpoint", str(seg_checkpoint), "--out", str(out), "--float-logits"]
    assert export_main(argv) == 0
    art = load_artifact(out)
    assert art.contract == "float" and art.input.shape == [1, 3, 32, 64] and art.output.name == "logits"
    model = load_modules(seg_checkpoint, ["model"])["model"]
    x = torch.randn(1, 3, 32, 64, generator=torch.Generator().manual_seed(3))
    with torch.no_grad(), open_backend(out, backend="onnxruntime", device="cpu") as runner:
        np.testing.assert_allclose(runner.infer(x.numpy()), model(x).numpy(), atol=1e-4, rtol=1e-4)
    argv = ["onnx", "--checkpoint", str(dsanet_checkpoint), "--out", str(tmp_path / "d.onnx"),
            "--float-logits"]
    assert export_main(argv) == 2 and "for segmenters" in capsys.readouterr().err


def test_onnx_runtime_reads_the_classes_contiguously_for_the_argmax(seg_exports, tmp_path):
    """The mask's ArgMax must reduce the last, contiguous axis after ONNX Runtime's optimisations (3x
    faster than over the class axis of NCHW, docs/benchmarks/README.md), and read them straight from
    the final upsample, which runs channels-last (export/channels_last_resize.py): no full-resolution
    reorder or transpose between them."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL   # as the backend
    options.optimized_model_filepath = str(tmp_path / "optimized.onnx")
    ort.InferenceSession(str(seg_exports / "seg.onnx"), options, providers=["CPUExecutionProvider"])
    graph = onnx.shape_inference.infer_shapes(onnx.load(str(tmp_path / "optimized.onnx"))).graph
    producers = {out: node for node in graph.node for out in node.output}
    (argmax,) = [n for n in graph.node if n.op_type == "ArgMax"]
    ranks = {v.name: len(v.type.tensor_type.shape.dim) for v in (*graph.value_info, *graph.input)}
    axis = onnx.helper.get_attribute_value(next(a for a in argmax.attribute if a.name == "axis"))
    assert axis in (-1, ranks[argmax.input[0]] - 1)
    source = producers[argmax.input[0]]
    while source.op_type == "Reshape":
        source = producers[source.input[0]]
    assert (source.op_type, source.domain) == ("Resize", "")
    low = producers[source.input[0]]                                # the logits before it, channels-last
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in low.attribute}
    assert attrs.get("perm") == [0, 2, 3, 1] or attrs.get("channels_last") == 1, low


def test_the_exported_normalisation_is_one_named_depthwise_conv_kept_out_of_int8(seg_exports):
    """export/graphs.py normalises with a depthwise 1x1 Conv; the int8 path finds it by name
    (rain_seg_ros.backends.tensorrt_calibration.normalisation_nodes) to keep it unquantized."""
    from onnx import numpy_helper

    from rain_seg_ros.backends.tensorrt_calibration import normalisation_nodes

    path = seg_exports / "seg.onnx"
    (name,) = normalisation_nodes(path)
    graph = onnx.load(str(path)).graph
    (node,) = [n for n in graph.node if n.name == name]
    weights = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    art = load_artifact(path)
    std, mean = np.asarray(art.std), np.asarray(art.mean)   # RGB model: the input's channel order
    np.testing.assert_allclose(weights[node.input[1]].reshape(3), 1 / (255 * std), rtol=1e-6)
    np.testing.assert_allclose(weights[node.input[2]], -mean / std, rtol=1e-6)
