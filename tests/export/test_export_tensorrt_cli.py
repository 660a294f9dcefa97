"""`python -m export tensorrt` / `torch-tensorrt` without a GPU: arguments, cache build step, errors."""

from __future__ import annotations

import argparse

import pytest

from export.__main__ import main as export_main
from export.commands import tensorrt as trt_cmd
from rain_seg_ros.artifact import load_artifact
from rain_seg_ros.backends.engine_cache import Environment, ShapeProfile

from ..rain_seg_ros.runtime_fixtures import seg_artifact, write_conv_onnx


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
