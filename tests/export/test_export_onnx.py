"""`python -m export onnx|pt2`: exported files vs PyTorch (run by ORT / torch), sidecars, CLI."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
import torch

from export.__main__ import main as export_main
from rain_seg_ros.artifact import load_artifact
from rain_seg_ros.backends import open_backend
from rain_seg_ros.labels import CITYSCAPES_PALETTE
from training.engine.checkpoint import file_sha256, load_modules, resolve_checkpoint


def test_onnx_is_valid_with_named_io_and_dynamic_batch(seg_exports):
    model = onnx.load(str(seg_exports / "seg.onnx"))
    onnx.checker.check_model(model, full_check=True)
    (inp,), (out,) = model.graph.input, model.graph.output
    assert (inp.name, out.name) == ("image", "logits")
    dims = [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim]
    assert dims == ["batch", 3, 32, 64]


def test_sidecar_comes_from_the_checkpoint(seg_exports, seg_checkpoint):
    art = load_artifact(seg_exports / "seg.onnx")
    assert art.task == "segmentation" and art.input_size == (32, 64)
    assert art.input.shape == ["batch", 3, 32, 64] and art.output.shape == ["batch", 19, 32, 64]
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
    assert not (tmp_path / "d_encoder.onnx").exists()


@pytest.mark.parametrize("suffix, batch", [(".onnx", 3), (".pt2", 2)])
def test_exported_model_matches_pytorch(seg_exports, seg_checkpoint, suffix, batch):
    model = load_modules(seg_checkpoint, ["model"])["model"]
    x = torch.randn(batch, 3, 32, 64, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        ref = model(x).numpy()
    with open_backend(seg_exports / f"seg{suffix}", backend="onnxruntime" if suffix == ".onnx" else "torch",
                      device="cpu", trust_pt2=True) as runner:   # our own export: trusted
        out = runner.infer(x.numpy())
    assert out.shape == ref.shape
    np.testing.assert_allclose(out, ref, atol=1e-4, rtol=1e-4)


def test_dsanet_exports_encoder_generator_and_rain_bank(dsanet_checkpoint, dsanet_exports):
    tmp_path = dsanet_exports
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["dsa_encoder.json", "dsa_encoder.onnx", "dsa_generator.json", "dsa_generator.onnx",
                     "dsa_rain_bank.safetensors"]
    enc, gen = load_artifact(tmp_path / "dsa_encoder.onnx"), load_artifact(tmp_path / "dsa_generator.onnx")
    assert enc.task == "dsanet_encoder" and gen.task == "dsanet_generator"
    assert enc.output.shape == [1, 8, 8, 16] == gen.input.shape and gen.output.shape == [1, 3, 32, 64]
    assert enc.mean == (0.0, 0.0, 0.0) and enc.std == (1.0, 1.0, 1.0)
    assert enc.extra["rain_bank"] == "dsa_rain_bank.safetensors"
    assert enc.extra["generator"] == "dsa_generator" == gen.extra["generator"]
    modules = load_modules(dsanet_checkpoint)
    x = torch.rand(1, 3, 32, 64)
    with torch.no_grad():
        feat = modules["encoder"](x)
        img = modules["generator"](feat)
    with open_backend(tmp_path / "dsa_encoder.onnx", backend="onnxruntime", device="cpu") as runner:
        np.testing.assert_allclose(runner.infer(x.numpy()), feat.numpy(), atol=1e-5)
    with open_backend(tmp_path / "dsa_generator.onnx", backend="onnxruntime", device="cpu") as runner:
        np.testing.assert_allclose(runner.infer(feat.numpy()), img.numpy(), atol=1e-5)


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
