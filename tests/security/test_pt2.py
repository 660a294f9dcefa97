"""A `.pt2` is code: a crafted one must not run unless the user names it and says they trust it.

The hostile file is a genuine torch.export program whose pickled sample inputs, when
unpickled, call open(MARKER, "w"); torch.export.load (torch 2.13) retries a failed safe load
with weights_only=False, so loading it creates MARKER. The first test proves that, so the
refusals below are refusals of a file that really runs code.
"""

from __future__ import annotations

import builtins
import io
import logging
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from export.__main__ import main as export_main
from rain_seg_ros.artifact import write_artifact
from rain_seg_ros.backends import BackendError, UntrustedModelError, choose_backend, open_backend
from rain_seg_ros.backends.torch_program import TorchProgramBackend
from rain_seg_ros.segmenter import Segmenter
from tests.rain_seg_ros.runtime_fixtures import seg_artifact, write_conv_onnx, write_conv_pt2
from training.engine.checkpoint import ModuleSpec, save_checkpoint
from training.models import MODEL_KINDS


class _CreateFile:
    """Unpickles as builtins.open(path, "w"): the file appearing is the proof that code ran."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return builtins.open, (self.path, "w")


def make_evil_pt2(genuine: Path, out: Path, marker: Path) -> None:
    """Copy `genuine` to `out` with its sample inputs replaced by a pickle that creates `marker`."""
    payload = io.BytesIO()
    torch.save((_CreateFile(marker),), payload)
    with zipfile.ZipFile(genuine) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
        names = [i.filename for i in src.infolist()]
        assert any(n.endswith("data/sample_inputs/model.pt") for n in names), names
        for name in names:
            data = payload.getvalue() if name.endswith("data/sample_inputs/model.pt") else src.read(name)
            dst.writestr(name, data)


@pytest.fixture(scope="module")
def genuine(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray, np.ndarray]:
    folder = tmp_path_factory.mktemp("genuine")
    weight, bias = write_conv_pt2(folder / "m.pt2", seg_artifact(8, 16, 4))
    return folder / "m.pt2", weight, bias


@pytest.fixture
def evil(genuine, tmp_path: Path) -> tuple[Path, Path]:
    """(evil.pt2 with its sidecar and nothing else beside it, the marker it would create)."""
    marker = tmp_path / "MARKER"
    make_evil_pt2(genuine[0], tmp_path / "evil.pt2", marker)
    write_artifact(seg_artifact(8, 16, 4), tmp_path / "evil.pt2")
    return tmp_path / "evil.pt2", marker


def _expected(batch: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    return np.einsum("bkhw,ck->bchw", batch.astype(np.float64), weight) + bias[None, :, None, None]


def test_the_crafted_pt2_really_runs_code_when_loaded(evil):
    path, marker = evil
    logging.getLogger("torch").disabled = True  # torch logs the weights_only fallback noisily
    try:
        torch.export.load(str(path))
    except Exception:  # noqa: BLE001 - only whether the payload ran matters here
        pass
    finally:
        logging.getLogger("torch").disabled = False
    assert marker.exists()


@pytest.mark.parametrize("backend", ["auto", "torch"])
def test_untrusted_pt2_is_refused_before_loading(evil, backend):
    path, marker = evil
    with pytest.raises(UntrustedModelError) as err:
        open_backend(path, backend=backend, device="cpu")
    assert str(err.value) == (f"{path} is a PyTorch program and can run code when loaded; "
                              f"pass trust_pt2 / --trust-pt2 if you trust its source")
    with pytest.raises(UntrustedModelError):
        TorchProgramBackend(path, device="cpu")
    with pytest.raises(UntrustedModelError):
        Segmenter(path, device="cpu")
    assert not marker.exists()


def test_auto_serves_the_onnx_beside_an_untrusted_pt2(genuine, tmp_path, caplog):
    marker = tmp_path / "MARKER"
    weight, bias = write_conv_onnx(tmp_path / "m.onnx", seg_artifact(8, 16, 4))  # m.json shared
    make_evil_pt2(genuine[0], tmp_path / "m.pt2", marker)
    batch = np.random.default_rng(1).normal(size=(2, 3, 8, 16)).astype(np.float32)
    with caplog.at_level(logging.WARNING, logger="rain_seg_ros.backends"):
        with open_backend(tmp_path / "m.pt2", device="cpu") as runner:
            assert (runner.name, runner.model_path) == ("onnxruntime", tmp_path / "m.onnx")
            np.testing.assert_allclose(runner.infer(batch), _expected(batch, weight, bias),
                                       rtol=1e-5, atol=1e-5)
    assert "m.pt2 not loaded" in caplog.text
    assert not marker.exists()


def test_a_pt2_beside_the_named_onnx_is_never_loaded(genuine, tmp_path, monkeypatch):
    import rain_seg_ros.backends as backends
    from rain_seg_ros.backends import onnxruntime as ort_backend
    from rain_seg_ros.backends import torch_program

    marker = tmp_path / "MARKER"
    write_conv_onnx(tmp_path / "m.onnx", seg_artifact(8, 16, 4))
    make_evil_pt2(genuine[0], tmp_path / "m.pt2", marker)
    # a machine where torch CUDA would outrank ONNX Runtime CPU: the old order picked the .pt2 here
    monkeypatch.setattr(backends, "_tensorrt_usable", lambda: False)
    monkeypatch.setattr(ort_backend, "cuda_available", lambda: False)
    monkeypatch.setattr(torch_program, "cuda_available", lambda: True)
    for trust in (False, True):
        name, _, file, _ = choose_backend(tmp_path / "m.onnx", trust_pt2=trust)
        assert (name, file) == ("onnxruntime", tmp_path / "m.onnx")
        with pytest.raises(BackendError, match="name the .pt2 file itself"):
            open_backend(tmp_path / "m.onnx", backend="torch", device="cpu", trust_pt2=trust)
    assert not marker.exists()


def test_verify_refuses_an_untrusted_pt2_in_one_line(evil, tmp_path, monkeypatch, capsys):
    from tests.export.tiny_models import TinySegmenter

    path, marker = evil
    monkeypatch.setitem(MODEL_KINDS, "tiny_segmenter", "tests.export.tiny_models:TinySegmenter")
    spec = ModuleSpec("tiny_segmenter", {"num_classes": 4})
    save_checkpoint(tmp_path / "ckpt", 1, {"model": (spec, TinySegmenter(4))},
                    extra_meta={"task": "segmentation", "num_classes": 4, "input_size": [8, 16]})
    code = export_main(["verify", "--model", str(path), "--checkpoint", str(tmp_path / "ckpt"),
                        "--num-random", "2"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.splitlines() == [f"error: --model: {path} is a PyTorch program and can run code when "
                                f"loaded; pass trust_pt2 / --trust-pt2 if you trust its source"]
    assert not marker.exists()


def test_a_trusted_genuine_pt2_still_runs(genuine):
    path, weight, bias = genuine
    batch = np.random.default_rng(2).normal(size=(3, 3, 8, 16)).astype(np.float32)
    for backend in ("auto", "torch"):
        with open_backend(path, backend=backend, device="cpu", trust_pt2=True) as runner:
            assert (runner.name, runner.model_path) == ("torch", path)
            np.testing.assert_allclose(runner.infer(batch), _expected(batch, weight, bias),
                                       rtol=1e-5, atol=1e-5)
