"""`python -m export onnx` on a condition-estimator checkpoint: ONNX + sidecar, parity with
PyTorch, and rain_seg_ros.condition running the export."""

from __future__ import annotations

import cv2
import numpy as np
import onnxruntime as ort
import pytest
import torch

from export.__main__ import main as export_main
from rain_seg_ros.artifact import load_artifact
from rain_seg_ros.condition import ConditionEstimator
from training.condition.trainer import TrainConditionConfig, checkpoint_meta, model_spec
from training.engine.checkpoint import file_sha256, load_modules, resolve_checkpoint, save_checkpoint
from training.models import build_model

SIZE = (24, 40)   # recorded input size (H, W)


@pytest.fixture(scope="module")
def condition_export(tmp_path_factory):
    """A condition checkpoint (non-trivial batch-norm statistics) and its ONNX export."""
    torch.manual_seed(0)
    cfg = TrainConditionConfig(input_size=list(SIZE))
    cfg.model.width, cfg.model.stages = 4, 2
    spec = model_spec(cfg)
    model = build_model(spec.kind, spec.config)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    run = tmp_path_factory.mktemp("condition_run")
    save_checkpoint(run / "checkpoints", 7, {"model": (spec, model)}, extra_meta=checkpoint_meta(cfg))
    out = run / "artifacts" / "condition.onnx"
    assert export_main(["onnx", "--checkpoint", str(run), "--out", str(out), "--dynamic-batch"]) == 0
    return run, out


def test_sidecar_describes_the_condition_contract(condition_export):
    run, onnx_path = condition_export
    art = load_artifact(onnx_path)
    assert art.task == "condition"
    assert art.class_names == ["clear", "rain", "night", "rain+night"]
    assert art.extra["output_columns"] == ["rain", "night", "intensity"]
    assert art.input_size == SIZE and art.input.shape == ["batch", 3, *SIZE]
    assert art.output.name == "condition" and art.output.shape == ["batch", 3]
    assert art.mean == pytest.approx((0.485, 0.456, 0.406)) and art.resize == "stretch"
    assert art.source_checkpoint_sha256 == file_sha256(resolve_checkpoint(run))


def test_onnx_matches_pytorch(condition_export):
    run, onnx_path = condition_export
    model = load_modules(run, ["model"])["model"]
    x = torch.randn(3, 3, *SIZE, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ref = model(x).numpy()                                     # (3, 3)
    (got,) = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"]).run(
        ["condition"], {"image": x.numpy()})
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-5)


def test_runtime_estimator_on_the_export(condition_export):
    run, onnx_path = condition_export
    model = load_modules(run, ["model"])["model"]
    rng = np.random.default_rng(2)
    frames = [rng.integers(0, 256, (60, 90, 3), dtype=np.uint8),
              rng.integers(0, 256, (24, 40, 3), dtype=np.uint8)]
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    with ConditionEstimator(onnx_path, backend="onnxruntime", device="cpu") as estimator:
        estimates = estimator.estimate_batch(frames)
    for frame, est in zip(frames, estimates):
        # independent preprocessing: bilinear stretch, /255, ImageNet mean/std, CHW
        x = (cv2.resize(frame, (SIZE[1], SIZE[0]), interpolation=cv2.INTER_LINEAR) / 255.0 - mean) / std
        with torch.no_grad():
            r, n, inten = model(torch.from_numpy(x.transpose(2, 0, 1)[None].astype(np.float32)))[0].tolist()
        assert (est.p_rain, est.p_night, est.intensity) == pytest.approx((r, n, inten), abs=1e-4)
        expected = {"clear": (1 - r) * (1 - n), "rain": r * (1 - n), "night": (1 - r) * n,
                    "rain+night": r * n}
        assert est.probabilities == pytest.approx(expected, abs=1e-4)
        assert est.condition == ("rain+night" if r >= .5 and n >= .5 else "rain" if r >= .5
                                 else "night" if n >= .5 else "clear")


def test_export_verify_passes_on_a_condition_export(condition_export, capsys):
    run, onnx_path = condition_export
    rc = export_main(["verify", "--model", str(onnx_path), "--checkpoint", str(run), "--num-random", "4"])
    out = capsys.readouterr().out
    assert rc == 0 and "PASS" in out, out
