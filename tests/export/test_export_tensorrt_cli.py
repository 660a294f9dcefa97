"""`python -m export tensorrt` / `torch-tensorrt` without a GPU: arguments, cache build step, errors."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from export.__main__ import main as export_main
from export.commands import tensorrt as trt_cmd
from rain_seg_ros.artifact import load_artifact
from rain_seg_ros.backends.engine_cache import Environment, ShapeProfile

from ..rain_seg_ros.runtime_fixtures import graph_seg_artifact, seg_artifact, write_conv_onnx


@pytest.fixture()
def onnx_model(tmp_path):
    path = tmp_path / "seg.onnx"
    write_conv_onnx(path, seg_artifact(8, 16, 3))
    return path


def _options(argv):
    parser = trt_cmd.build_parser()
    args = parser.parse_args(argv)
    return args, trt_cmd.options_from_args(parser, args)


def test_shapes_and_precisions_become_build_options(onnx_model, tmp_path):
    args, options = _options(["--onnx", str(onnx_model), "--fp16", "--min-shape", "1x3x8x16",
                               "--opt-shape", "2x3x8x16", "--max-shape", "4x3x8x16", "--workspace-gb", "2"])
    assert options.precision == "fp16" and options.workspace_gb == 2.0
    assert options.profile == ShapeProfile((1, 3, 8, 16), (2, 3, 8, 16), (4, 3, 8, 16))
    calib = tmp_path / "calib"
    calib.mkdir()
    _, int8 = _options(["--onnx", str(onnx_model), "--int8", "--calib-images", str(calib),
                        "--engine-cache-dir", str(tmp_path / "c")])
    assert int8.precision == "int8"
    assert _options(["--onnx", str(onnx_model)])[1].precision == "fp32"


@pytest.mark.parametrize("argv, message", [
    (["--fp16", "--int8"], "not allowed with"),
    (["--int8"], "--int8 needs --calib-images"),
    (["--fp16", "--calib-images", "."], "only makes sense with --int8"),
    (["--min-shape", "1x3x8x16"], "together"),
    (["--min-shape", "1x3x8"], "four positive sizes"),
    (["--min-shape", "4x3x8x16", "--opt-shape", "1x3x8x16", "--max-shape", "8x3x8x16"], "min <= opt <= max"),
    (["--dla-core", "0"], "DLA has no fp32"),
    (["--out", "x.onnx"], "must end in .engine"),
    (["--device", "cpu"], "cuda"),
])
def test_bad_argument_combinations_are_refused(onnx_model, capsys, argv, message):
    with pytest.raises(SystemExit):
        _options(["--onnx", str(onnx_model), *argv])
    assert message in capsys.readouterr().err


def test_build_step_fills_the_cache_and_copies_out(onnx_model, tmp_path):
    calls = []

    def fake_builder(onnx, options):
        calls.append(options.precision)
        return b"serialized-engine"

    args, options = _options(["--onnx", str(onnx_model), "--fp16", "--engine-cache-dir",
                              str(tmp_path / "cache"), "--out", str(tmp_path / "deploy" / "seg_orin.engine")])
    env = Environment("10.3.0", "Orin", "8.7")
    graph = trt_cmd.prepare_graph(args, options, device_index=0)
    assert graph == onnx_model.with_name("seg.fp16.onnx")        # --fp16 builds from an fp16 copy
    out = trt_cmd.build(args, graph, options, env, fake_builder)
    assert out == tmp_path / "deploy" / "seg_orin.engine" and out.read_bytes() == b"serialized-engine"
    assert load_artifact(out).extra["tensorrt"]["key"]["precision"] == "fp16"
    assert (out.parent / "seg.fp16.onnx").read_bytes() == graph.read_bytes()   # shipped for rebuilds
    trt_cmd.build(args, trt_cmd.prepare_graph(args, options, 0), options, env, fake_builder)  # cache hit
    assert calls == ["fp16"]


def test_without_tensorrt_the_command_exits_with_a_clear_error(onnx_model, capsys):
    try:
        import tensorrt
        if hasattr(tensorrt, "Builder"):
            pytest.skip("TensorRT is installed here")
    except ImportError:
        pass
    assert export_main(["tensorrt", "--onnx", str(onnx_model), "--fp16"]) == 2
    assert "TensorRT" in capsys.readouterr().err


def test_torch_tensorrt_validates_then_reports_missing_library(capsys, tmp_path):
    with pytest.raises(SystemExit):
        export_main(["torch-tensorrt", "--checkpoint", "x", "--out", str(tmp_path / "m.onnx")])
    assert "must end in .pt2" in capsys.readouterr().err
    try:
        import torch_tensorrt  # noqa: F401
        pytest.skip("torch-tensorrt is installed here")
    except ImportError:
        pass
    assert export_main(["torch-tensorrt", "--checkpoint", "x", "--out", str(tmp_path / "m.pt2")]) == 2
    assert "torch-tensorrt is not installed" in capsys.readouterr().err


def test_parse_shape():
    assert trt_cmd.parse_shape("1X3x512x1024") == (1, 3, 512, 1024)
    with pytest.raises(argparse.ArgumentTypeError):
        trt_cmd.parse_shape("1x3xAx4")


def _write_images(folder, count=2):
    import cv2
    import numpy as np

    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(count):
        cv2.imwrite(str(folder / f"{i}.png"), rng.integers(0, 256, (8, 16, 3), dtype=np.uint8))
    return folder


def test_int8_export_ships_the_qdq_graph_so_another_gpu_rebuilds(onnx_model, tmp_path, monkeypatch, capsys):
    from rain_seg_ros.backends import tensorrt as trt_backend
    from rain_seg_ros.backends import tensorrt_build
    from rain_seg_ros.backends.engine_cache import BuildOptions

    from ..rain_seg_ros.fake_tensorrt import install, install_modelopt

    fake, modelopt = install(monkeypatch), install_modelopt(monkeypatch)
    orin = Environment("10.13.0", "Orin", "8.7")
    monkeypatch.setattr(tensorrt_build, "probe_environment", lambda index: orin)
    deploy = tmp_path / "deploy" / "seg_orin.engine"
    calib = _write_images(tmp_path / "c")
    argv = ["tensorrt", "--onnx", str(onnx_model), "--int8", "--calib-images", str(calib),
            "--engine-cache-dir", str(tmp_path / "cache"), "--out", str(deploy), "--device", "cuda:1"]
    assert export_main(argv) == 0, capsys.readouterr().err
    assert modelopt[0]["calibration_eps"][0] == "cuda:1"
    assert [device for _, device in fake.named("build_serialized_network")] == [1]
    assert fake.named("parse_from_file")[0][0] == ("seg.int8.onnx",)
    record = load_artifact(deploy).extra["tensorrt"]
    assert record["key"]["precision"] == "int8" and len(record["key"]["calibration_sha256"]) == 64
    shipped = deploy.parent / "seg.int8.onnx"          # the calibration result travels with the engine
    assert shipped.read_bytes() == onnx_model.with_name("seg.int8.onnx").read_bytes()
    assert load_artifact(shipped).extra["quantization"]["calibration_sha256"] == \
        record["key"]["calibration_sha256"]
    for path in tmp_path.glob("seg.*"):                 # the build machine's files are gone
        path.unlink()
    rtx = Environment("10.13.0", "RTX 4090", "8.9")
    monkeypatch.setattr(trt_backend, "probe_environment", lambda index: rtx)
    rebuilt = trt_backend.resolve_engine(deploy, 0, tmp_path / "target-cache", BuildOptions("fp16"))
    assert rebuilt.parent == tmp_path / "target-cache"
    assert fake.named("parse_from_file")[-1][0] == ("seg.int8.onnx",)
    key = load_artifact(rebuilt).extra["tensorrt"]["key"]
    assert key["precision"] == "int8" and key["calibration_sha256"] == record["key"]["calibration_sha256"]
    assert len(modelopt) == 1                           # rebuilt without the images


def test_qdq_flag_needs_a_quantized_graph(onnx_model, tmp_path, capsys):
    from ..rain_seg_ros.fake_tensorrt import write_qdq_onnx

    with pytest.raises(SystemExit):
        _options(["--onnx", str(onnx_model), "--int8", "--qdq"])
    assert "no QuantizeLinear/DequantizeLinear" in capsys.readouterr().err
    qdq = tmp_path / "seg_qdq.onnx"
    write_qdq_onnx(qdq)
    from rain_seg_ros.artifact import write_artifact

    write_artifact(seg_artifact(8, 16, 3), qdq)
    args, options = _options(["--onnx", str(qdq), "--int8", "--qdq"])
    assert options.precision == "int8" and trt_cmd.prepare_graph(args, options, 0) == qdq


def test_torch_tensorrt_keeps_the_dynamic_batch_and_types_explicitly():
    """A float-contract target: compile gets Input(min, opt, max) float (B, 3, H, W) and explicit
    typing; the saved program keeps the batch dynamic (checked with the real torch.export, as
    torch_tensorrt.save re-traces with it)."""
    import types

    import torch

    from export.commands.torch_tensorrt import trt_settings

    fake = types.SimpleNamespace(Input=lambda **kwargs: kwargs)
    artifact = seg_artifact(8, 16, 3)
    compile_kwargs, save_kwargs = trt_settings(fake, artifact, max_batch=4, fp16=True, device="cpu")
    (spec,) = compile_kwargs["inputs"]
    assert spec == {"min_shape": (1, 3, 8, 16), "opt_shape": (1, 3, 8, 16), "max_shape": (4, 3, 8, 16),
                    "dtype": torch.float16}
    assert compile_kwargs["use_explicit_typing"] is True and "enabled_precisions" not in compile_kwargs
    assert compile_kwargs["device"] == "cpu"
    _, save_kwargs = trt_settings(fake, artifact, max_batch=4, fp16=False, device="cpu")
    model = torch.nn.Conv2d(3, 2, 1).eval()
    program = torch.export.export(model, tuple(save_kwargs["arg_inputs"]),
                                  dynamic_shapes=save_kwargs["dynamic_shapes"])
    assert program.module()(torch.zeros(3, 3, 8, 16)).shape == (3, 2, 8, 16)
    with pytest.raises(Exception, match="batch|4"):
        program.module()(torch.zeros(5, 3, 8, 16))
    _, static = trt_settings(fake, artifact, max_batch=1, fp16=False, device="cpu")
    assert "dynamic_shapes" not in static and static["arg_inputs"][0].shape == (1, 3, 8, 16)


def test_torch_tensorrt_compiles_the_uint8_graph_with_a_uint8_nhwc_dynamic_batch_input():
    """The target is the uint8 graph: its Input is uint8 (B, H, W, 3) even with --fp16, and the
    program saved with that spec runs a uint8 batch of 3 to the numpy argmax of the conv."""
    import types

    import torch

    from export.commands.torch_tensorrt import trt_settings
    from export.graphs import segmentation_graph

    fake = types.SimpleNamespace(Input=lambda **kwargs: kwargs)
    artifact = graph_seg_artifact(8, 16, 3)
    compile_kwargs, _ = trt_settings(fake, artifact, max_batch=4, fp16=True, device="cpu")
    (spec,) = compile_kwargs["inputs"]
    assert spec == {"min_shape": (1, 8, 16, 3), "opt_shape": (1, 8, 16, 3), "max_shape": (4, 8, 16, 3),
                    "dtype": torch.uint8}
    _, save_kwargs = trt_settings(fake, artifact, max_batch=4, fp16=False, device="cpu")
    assert save_kwargs["arg_inputs"][0].dtype == torch.uint8
    conv = torch.nn.Conv2d(3, 3, 1).eval()
    graph = segmentation_graph(conv, artifact)
    program = torch.export.export(graph, tuple(save_kwargs["arg_inputs"]),
                                  dynamic_shapes=save_kwargs["dynamic_shapes"])
    images = np.random.default_rng(0).integers(0, 256, (3, 8, 16, 3), dtype=np.uint8)
    mask, confidence = program.module()(torch.from_numpy(images))
    x = (images / 255.0 - np.array(artifact.mean)) / np.array(artifact.std)           # (B, H, W, 3)
    w = conv.weight.detach().numpy()[:, :, 0, 0].astype(np.float64)
    logits = np.einsum("bhwk,ck->bchw", x, w) + conv.bias.detach().numpy()[None, :, None, None]
    assert mask.dtype == torch.uint8 and (mask.numpy() == logits.argmax(axis=1)).mean() > 0.99


def test_shape_profile_must_fit_the_uint8_graphs_nhwc_input(tmp_path, capsys):
    """A uint8 graph takes NxHxWx3: an NCHW profile (what worked for float exports) is refused in
    one line naming the input, before anything is built; the NHWC one becomes the profile."""
    from ..rain_seg_ros.runtime_fixtures import write_conv_graph_onnx

    graph = tmp_path / "seg.onnx"
    write_conv_graph_onnx(graph, graph_seg_artifact(8, 16, 3))
    with pytest.raises(SystemExit):
        _options(["--onnx", str(graph), "--min-shape", "1x3x8x16", "--opt-shape", "1x3x8x16",
                  "--max-shape", "4x3x8x16"])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "does not fit input image" in err and "uint8" in err
    _, options = _options(["--onnx", str(graph), "--min-shape", "1x8x16x3", "--opt-shape", "2x8x16x3",
                           "--max-shape", "4x8x16x3"])
    assert options.profile == ShapeProfile((1, 8, 16, 3), (2, 8, 16, 3), (4, 8, 16, 3))
