"""Backends: outputs against a numpy reference, `auto` selection, lifecycle and clear errors."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from rain_seg_ros.backends import BackendError, choose_backend, open_backend

from .runtime_fixtures import seg_artifact, write_conv_onnx, write_conv_pt2


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """m.onnx and m.pt2 of the same 1x1 conv (dynamic batch), sidecars beside them."""
    folder = tmp_path_factory.mktemp("models")
    art = seg_artifact(8, 16, 4)
    weight, bias = write_conv_onnx(folder / "m.onnx", art)
    assert all(np.array_equal(a, b) for a, b in zip(write_conv_pt2(folder / "m.pt2", art), (weight, bias)))
    return folder, weight, bias


def _expected(batch: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    return np.einsum("bkhw,ck->bchw", batch.astype(np.float64), weight) + bias[None, :, None, None]


@pytest.mark.parametrize("backend, suffix", [("onnxruntime", ".onnx"), ("torch", ".pt2")])
def test_backend_output_matches_numpy(models, backend, suffix):
    folder, weight, bias = models
    batch = np.random.default_rng(0).normal(size=(3, 3, 8, 16)).astype(np.float32)
    with open_backend(folder / f"m{suffix}", backend=backend, device="cpu", trust_pt2=True) as runner:
        assert runner.name == backend and runner.device == "cpu"
        out = runner.infer(batch)
    assert out.shape == (3, 4, 8, 16) and out.dtype == np.float32
    np.testing.assert_allclose(out, _expected(batch, weight, bias), rtol=1e-5, atol=1e-5)


def test_explicit_backend_uses_the_sibling_onnx_but_never_a_sibling_pt2(models):
    folder, _, _ = models
    with open_backend(folder / "m.pt2", backend="onnxruntime", device="cpu") as runner:
        assert runner.model_path == folder / "m.onnx"
    with pytest.raises(BackendError, match="name the .pt2 file itself as the model"):
        open_backend(folder / "m.onnx", backend="torch", device="cpu", trust_pt2=True)


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
    assert choose_backend(folder / "m.pt2", trust_pt2=True)[:2] == ("torch", "cuda")
    assert choose_backend(folder / "m.onnx", trust_pt2=True)[:2] == ("onnxruntime", "cpu")  # .pt2 not named
    assert choose_backend(folder / "m.pt2", "cpu", trust_pt2=True)[:2] == ("onnxruntime", "cpu")


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
            open_backend(folder / "m.pt2", backend="torch", device="cuda", trust_pt2=True)
        with pytest.raises(BackendError, match="CUDA"):
            open_backend(folder / "m.onnx", backend="onnxruntime", device="cuda")
    with pytest.raises(BackendError, match="unknown precision"):
        open_backend(folder / "m.onnx", precision="bf8")
    with pytest.raises(BackendError, match="exported precision"):
        open_backend(folder / "m.onnx", backend="onnxruntime", precision="fp16")
    with pytest.raises(BackendError, match="TensorRT backend only"):
        open_backend(folder / "m.pt2", backend="torch", precision="int8", trust_pt2=True)
    with pytest.raises(BackendError, match="only offered on CUDA"):
        open_backend(folder / "m.pt2", backend="torch", device="cpu", precision="fp16", trust_pt2=True)
    (tmp_path / "only.pt2").write_bytes((folder / "m.pt2").read_bytes())
    (tmp_path / "only.json").write_bytes((folder / "m.json").read_bytes())
    with pytest.raises(BackendError, match="needs only.onnx"):
        open_backend(tmp_path / "only.pt2", backend="onnxruntime")


def test_model_path_mistakes_get_one_line_saying_what_to_name(models, tmp_path):
    """Each mistake is refused with its own message; none silently serves another file."""
    folder, _, _ = models
    cases = [
        ("", "no model file named: give an exported model (.onnx, .pt2 or .engine with its .json sidecar)"),
        (folder, f"{folder} is a directory: name the exported model file in it (.onnx, .pt2 or .engine)"),
        (folder / "m.json", f"{folder / 'm.json'} is a sidecar: name the model file (m.onnx), "
                            f"not its sidecar"),
        (tmp_path / "nope.onnx", f"model file {tmp_path / 'nope.onnx'} does not exist: check the path, "
                                 f"or export one with python -m export onnx|pt2"),
    ]
    (tmp_path / "m.txt").write_text("x")
    cases.append((tmp_path / "m.txt", f"{tmp_path / 'm.txt'} is not an exported model: "
                                      f"name an .onnx, .pt2 or .engine file"))
    for model_path, message in cases:
        for backend in ("auto", "onnxruntime"):
            with pytest.raises(BackendError) as err:
                open_backend(model_path, backend=backend, device="cpu")
            assert str(err.value) == message and "\n" not in message


def test_onnxruntime_threads_do_not_spin_between_runs(models):
    """Several sessions share a few cores in one node; spin-waiting intra-op threads of one session
    starve the next (docs/benchmarks/README.md measures it), so spinning is off in every session."""
    folder, _, _ = models
    with open_backend(folder / "m.onnx", backend="onnxruntime", device="cpu") as runner:
        options = runner._session.get_session_options()
        assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
