"""A DANNet checkpoint exports as ONE segmentation graph (relight -> segment -> re-weighting)
that the runtime and `export verify` take unchanged; parity against a composition written here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from export.commands.verify import main as verify_main
from export.targets import export_checkpoint
from rain_seg_ros.backends import open_backend
from rain_seg_ros.labels import CITYSCAPES_CLASSES, IMAGENET_MEAN, IMAGENET_STD
from rain_seg_ros.segmenter import Segmenter
from training.engine.checkpoint import ModuleSpec, load_state_dicts, save_checkpoint
from training.models import build_model
from training.models.erf_pspnet import ERFPSPNet
from training.models.relight import RelightNet

SEG_KWARGS = {"num_classes": 19, "channels": [4, 8, 16], "head_channels": 8, "bins": [1, 2]}
WEIGHTS = [1.0 + 0.05 * np.sin(k) for k in range(19)]    # positive, uneven: the argmax moves


@pytest.fixture(scope="module")
def dannet_export(tmp_path_factory) -> tuple[Path, Path]:
    torch.manual_seed(0)
    config = {"segmenter_kind": "erf_pspnet", "segmenter_kwargs": SEG_KWARGS,
              "relight_kwargs": {"base_channels": 4, "num_blocks": 1}, "class_weights": WEIGHTS}
    model = build_model("dannet_segmenter", config).eval()
    with torch.no_grad():      # a relight that is not the identity, and used batch-norm statistics
        model.relight.out.weight.normal_(0, 0.05)
        for m in model.segmenter.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
    disc = {"num_classes": 19, "channels": [8, 8, 8, 8, 1], "strides": [2, 2, 1, 1, 1]}
    meta = {"task": "segmentation", "method": "dannet", "num_classes": 19,
            "class_names": list(CITYSCAPES_CLASSES), "ignore_index": 255, "mean": list(IMAGENET_MEAN),
            "std": list(IMAGENET_STD), "input_size": [32, 64], "class_weights": WEIGHTS}
    run = tmp_path_factory.mktemp("dannet_run")
    save_checkpoint(run / "checkpoints", 4, {
        "model": (ModuleSpec("dannet_segmenter", config), model),
        "disc_d": (ModuleSpec("output_discriminator", disc), build_model("output_discriminator", disc)),
        "disc_n": (ModuleSpec("output_discriminator", disc), build_model("output_discriminator", disc))},
        extra_meta=meta)
    [onnx_path] = export_checkpoint(run, run / "dannet.onnx")
    return run, onnx_path


def _reference_scores(run: Path, images01: torch.Tensor) -> np.ndarray:
    """relight -> normalise -> segment -> log(softmax * w), composed from the raw weights."""
    states = load_state_dicts(run)["model"]
    relight, segmenter = RelightNet(4, 1).eval(), ERFPSPNet(**SEG_KWARGS).eval()
    relight.load_state_dict({k[len("relight."):]: v for k, v in states.items() if k.startswith("relight.")})
    segmenter.load_state_dict({k[len("segmenter."):]: v for k, v in states.items()
                               if k.startswith("segmenter.")})
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        logits = segmenter((relight(images01) - mean) / std).double().numpy()
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    return np.log(probs * np.asarray(WEIGHTS).reshape(1, -1, 1, 1))


def test_one_graph_matches_the_composition(dannet_export):
    run, onnx_path = dannet_export
    import onnx

    graph = onnx.load(str(onnx_path)).graph
    # the segmentation contract: uint8 image in, class ids and confidence out (export/graphs.py)
    assert [i.name for i in graph.input] == ["image"]
    assert [o.name for o in graph.output] == ["mask", "confidence"]
    gen = torch.Generator().manual_seed(1)
    image = torch.randint(0, 256, (1, 32, 64, 3), dtype=torch.uint8, generator=gen)
    with open_backend(onnx_path, backend="onnxruntime", device="cpu") as runner:
        assert runner.artifact.task == "segmentation"
        mask, confidence = runner.run([image.numpy()], ["mask", "confidence"])
    ref = _reference_scores(run, image.permute(0, 3, 1, 2).float() / 255.0).astype(np.float64)
    assert (mask == ref.argmax(1)).mean() > 0.999                             # numpy argmax
    top = 1.0 / np.exp(ref - ref.max(1, keepdims=True)).sum(1)                 # max softmax
    assert np.abs(confidence.astype(float) - 255 * top).max() <= 1.0          # within 1 LSB


def test_runtime_serves_it_unchanged(dannet_export):
    run, onnx_path = dannet_export
    rgb = np.random.default_rng(2).integers(0, 256, (32, 64, 3), dtype=np.uint8)
    with Segmenter(onnx_path, backend="onnxruntime", device="cpu") as seg:
        result = seg.segment(rgb)
    images01 = torch.from_numpy(rgb.transpose(2, 0, 1)[None].astype(np.float32) / 255.0)
    expected = _reference_scores(run, images01).argmax(1)[0]
    assert result.mask.shape == (32, 64)
    assert (result.mask == expected).mean() > 0.999


def test_export_verify_passes(dannet_export, capsys):
    run, onnx_path = dannet_export
    assert verify_main(["--model", str(onnx_path), "--checkpoint", str(run), "--num-random", "2"]) == 0
    assert "PASS" in capsys.readouterr().out
