"""Backends: outputs against a numpy reference, `auto` selection, lifecycle and clear errors."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from rain_seg_ros.artifact import write_artifact
from rain_seg_ros.backends import BackendError, choose_backend, open_backend

from .runtime_fixtures import seg_artifact, write_conv_onnx


class _Conv1x1(torch.nn.Module):
    def __init__(self, weight: np.ndarray, bias: np.ndarray) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, weight.shape[0], 1)
        with torch.no_grad():
            self.conv.weight.copy_(torch.from_numpy(weight)[:, :, None, None])
            self.conv.bias.copy_(torch.from_numpy(bias))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """m.onnx and m.pt2 of the same 1x1 conv (dynamic batch), sidecars beside them."""
    folder = tmp_path_factory.mktemp("models")
    art = seg_artifact(8, 16, 4)
    weight, bias = write_conv_onnx(folder / "m.onnx", art)
    x = torch.zeros(2, 3, 8, 16)
    program = torch.export.export(_Conv1x1(weight, bias).eval(), (x,),
                                  dynamic_shapes=({0: torch.export.Dim("batch", min=1, max=64)},))
    torch.export.save(program, str(folder / "m.pt2"))
    write_artifact(art, folder / "m.pt2")
    return folder, weight, bias


def _expected(batch: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    return np.einsum("bkhw,ck->bchw", batch.astype(np.float64), weight) + bias[None, :, None, None]


@pytest.mark.parametrize("backend, suffix", [("onnxruntime", ".onnx"), ("torch", ".pt2")])
def test_backend_output_matches_numpy(models, backend, suffix):
    folder, weight, bias = models
    batch = np.random.default_rng(0).normal(size=(3, 3, 8, 16)).astype(np.float32)
    with open_backend(folder / f"m{suffix}", backend=backend, device="cpu") as runner:
        assert runner.name == backend and runner.device == "cpu"
        out = runner.infer(batch)
    assert out.shape == (3, 4, 8, 16) and out.dtype == np.float32
    np.testing.assert_allclose(out, _expected(batch, weight, bias), rtol=1e-5, atol=1e-5)


def test_explicit_backend_uses_the_sibling_artifact(models):
    folder, _, _ = models
    with open_backend(folder / "m.onnx", backend="torch", device="cpu") as runner:
        assert runner.model_path.suffix == ".pt2"


def test_auto_picks_onnxruntime_cpu_here_and_logs_why(models, caplog, monkeypatch):
    import rain_seg_ros.backends as backends
    from rain_seg_ros.backends import onnxruntime as ort_backend
    from rain_seg_ros.backends import torch_program

    monkeypatch.setattr(backends, "_tensorrt_usable", lambda: False)
    monkeypatch.setattr(ort_backend, "cuda_available", lambda: False)
    monkeypatch.setattr(torch_program, "cuda_available", lambda: False)
    folder, _, _ = models
    with caplog.at_level(logging.INFO, logger="rain_seg_ros.backends"):
        with open_backend(folder / "m.pt2") as runner:
            assert (runner.name, runner.device, runner.model_path.suffix) == ("onnxruntime", "cpu", ".onnx")
    assert "backend auto -> onnxruntime on cpu" in caplog.text


def test_auto_priority_order_with_faked_gpus(models, monkeypatch):
    import rain_seg_ros.backends as backends
    from rain_seg_ros.backends import onnxruntime as ort_backend
    from rain_seg_ros.backends import torch_program

    folder, _, _ = models
    monkeypatch.setattr(backends, "_tensorrt_usable", lambda: True)
    monkeypatch.setattr(ort_backend, "cuda_available", lambda: True)
    monkeypatch.setattr(torch_program, "cuda_available", lambda: True)
    assert choose_backend(folder / "m.onnx")[:2] == ("tensorrt", "cuda")
    monkeypatch.setattr(backends, "_tensorrt_usable", lambda: False)
    assert choose_backend(folder / "m.onnx", "cuda:1")[:2] == ("onnxruntime", "cuda:1")
    monkeypatch.setattr(ort_backend, "cuda_available", lambda: False)
    assert choose_backend(folder / "m.onnx")[:2] == ("torch", "cuda")
    assert choose_backend(folder / "m.onnx", "cpu")[:2] == ("onnxruntime", "cpu")


def test_lifecycle_and_input_errors(models):
    folder, _, _ = models
    runner = open_backend(folder / "m.onnx", backend="onnxruntime", device="cpu")
    with pytest.raises(ValueError, match="expects input"):
        runner.infer(np.zeros((1, 3, 16, 16), np.float32))
    runner.close()
    with pytest.raises(BackendError, match="closed"):
        runner.infer(np.zeros((1, 3, 8, 16), np.float32))


def test_clear_errors_for_what_this_machine_cannot_do(models, tmp_path):
    folder, _, _ = models
    with pytest.raises(BackendError, match="unknown backend"):
        open_backend(folder / "m.onnx", backend="openvino")
    with pytest.raises(BackendError, match="does not exist"):
        open_backend(tmp_path / "missing.onnx")
    if not torch.cuda.is_available():
        with pytest.raises(BackendError, match="cuda"):
            open_backend(folder / "m.pt2", backend="torch", device="cuda")
        with pytest.raises(BackendError, match="CUDA"):
            open_backend(folder / "m.onnx", backend="onnxruntime", device="cuda")
    with pytest.raises(BackendError, match="unknown precision"):
        open_backend(folder / "m.onnx", precision="bf8")
    with pytest.raises(BackendError, match="exported precision"):
        open_backend(folder / "m.onnx", backend="onnxruntime", precision="fp16")
    with pytest.raises(BackendError, match="TensorRT backend only"):
        open_backend(folder / "m.pt2", backend="torch", precision="int8")
    with pytest.raises(BackendError, match="only offered on CUDA"):
        open_backend(folder / "m.pt2", backend="torch", device="cpu", precision="fp16")
    (tmp_path / "only.onnx").write_bytes((folder / "m.onnx").read_bytes())
    (tmp_path / "only.json").write_bytes((folder / "m.json").read_bytes())
    with pytest.raises(BackendError, match="needs only.pt2"):
        open_backend(tmp_path / "only.onnx", backend="torch")
