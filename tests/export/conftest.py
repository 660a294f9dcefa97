"""Export fixtures: tiny model kinds registered in training.models.MODEL_KINDS, and checkpoints of them."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from rain_seg_ros.labels import CITYSCAPES_CLASSES
from training.engine.checkpoint import ModuleSpec, save_checkpoint
from training.models import MODEL_KINDS

from .tiny_models import TinyEncoder, TinyGenerator, TinySegmenter

TINY_KINDS = {kind: f"{cls.__module__}:{cls.__name__}" for kind, cls in
              (("tiny_segmenter", TinySegmenter), ("tiny_encoder", TinyEncoder),
               ("tiny_generator", TinyGenerator))}


@pytest.fixture(scope="session", autouse=True)
def tiny_kinds():
    MODEL_KINDS.update(TINY_KINDS)
    yield
    for kind in TINY_KINDS:
        MODEL_KINDS.pop(kind, None)


@pytest.fixture(scope="session")
def seg_checkpoint(tmp_path_factory, tiny_kinds):
    """A segmenter run dir with 19 Cityscapes classes, recorded input size 32x64."""
    torch.manual_seed(0)
    model = TinySegmenter(num_classes=19)
    with torch.no_grad():                      # non-trivial batch-norm statistics
        model.body[1].running_mean.uniform_(-0.5, 0.5)
        model.body[1].running_var.uniform_(0.5, 2.0)
    run = tmp_path_factory.mktemp("seg_run")
    meta = {"task": "segmentation", "num_classes": 19, "class_names": list(CITYSCAPES_CLASSES),
            "ignore_index": 255, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
            "input_size": [32, 64]}
    spec = ModuleSpec("tiny_segmenter", {"num_classes": 19})
    save_checkpoint(run / "checkpoints", 10, {"model": (spec, model)}, extra_meta=meta)
    return run


@pytest.fixture(scope="session")
def dsanet_checkpoint(tmp_path_factory, tiny_kinds):
    """A DSANet run dir (encoder + generator, code_channels 8) with rain_bank.safetensors (K=3)."""
    torch.manual_seed(1)
    run = tmp_path_factory.mktemp("dsanet_run")
    modules = {"encoder": (ModuleSpec("tiny_encoder", {"code_channels": 8}), TinyEncoder(8)),
               "generator": (ModuleSpec("tiny_generator", {"code_channels": 8}), TinyGenerator(8))}
    save_checkpoint(run / "checkpoints", 5, modules, extra_meta={"task": "dsanet", "code_channels": 8,
                                                                  "no_rain_code": "zeros", "crop": [32, 64]})
    save_file({"rain_codes": torch.randn(3, 4, 8, 16)}, str(run / "rain_bank.safetensors"),
              metadata={"format": "rain_seg_ros.rain_bank/1", "code_channels": "8", "code_size": "[8, 16]",
                        "sources": "[]"})
    return run


@pytest.fixture(scope="session")
def seg_exports(seg_checkpoint, tmp_path_factory):
    """seg.onnx and seg.pt2 (dynamic batch) of seg_checkpoint, sharing seg.json."""
    from export.__main__ import main as export_main

    out = tmp_path_factory.mktemp("seg_out")
    assert export_main(["onnx", "--checkpoint", str(seg_checkpoint), "--out", str(out / "seg.onnx"),
                        "--dynamic-batch"]) == 0
    assert export_main(["pt2", "--checkpoint", str(seg_checkpoint), "--out", str(out / "seg.pt2"),
                        "--dynamic-batch"]) == 0
    return out


@pytest.fixture(scope="session")
def dsanet_exports(dsanet_checkpoint, tmp_path_factory):
    """dsa_encoder.onnx, dsa_generator.onnx and dsa_rain_bank.safetensors of dsanet_checkpoint."""
    from export.__main__ import main as export_main

    out = tmp_path_factory.mktemp("dsa_out")
    assert export_main(["onnx", "--checkpoint", str(dsanet_checkpoint), "--out", str(out / "dsa.onnx")]) == 0
    return out
