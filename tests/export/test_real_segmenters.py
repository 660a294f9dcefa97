"""verify passes for every real segmenter kind: random-weight checkpoint -> export onnx -> verify (32x64).

Narrow configurations of the real classes (same layers and ops, fewer channels) keep this
fast; the full-size models are exported and verified in docs/export.md. Skipped while a
kind's module is not on the branch.
"""

from __future__ import annotations

import importlib.util

import pytest
import torch

from export.__main__ import main as export_main
from rain_seg_ros.labels import CITYSCAPES_CLASSES
from training.engine.checkpoint import ModuleSpec, save_checkpoint
from training.models import MODEL_KINDS

# kind -> narrow constructor kwargs of the real class
NARROW = {
    "segformer": {"variant": "b0", "num_classes": 19, "hidden_sizes": [8, 16, 40, 64], "depths": [1, 1, 1, 1],
                  "decoder_hidden_size": 32},
    "deeplabv3": {"backbone": "resnet50", "num_classes": 19, "base_width": 8, "aspp_channels": 16},
    "erf_pspnet": {"num_classes": 19, "channels": [8, 16, 32], "head_channels": 16},
}


def _available(kind: str) -> bool:
    return importlib.util.find_spec(MODEL_KINDS[kind].partition(":")[0]) is not None


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(NARROW))
def test_export_and_verify_real_segmenter(kind, tmp_path, capsys):
    kwargs = NARROW[kind]
    if not _available(kind):
        pytest.skip(f"{MODEL_KINDS[kind]} is not on this branch yet")
    from training.models import build_model

    torch.manual_seed(0)
    model = build_model(kind, kwargs)
    meta = {"task": "segmentation", "num_classes": 19, "class_names": list(CITYSCAPES_CLASSES),
            "ignore_index": 255, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
            "input_size": [32, 64]}
    save_checkpoint(tmp_path / "run", 1, {"model": (ModuleSpec(kind, kwargs), model)}, extra_meta=meta)
    out = tmp_path / f"{kind}.onnx"
    assert export_main(["onnx", "--checkpoint", str(tmp_path / "run"), "--out", str(out)]) == 0
    code = export_main(["verify", "--model", str(out), "--checkpoint", str(tmp_path / "run"),
                        "--num-random", "2"])
    printed = capsys.readouterr().out
    assert code == 0 and "PASS" in printed, printed
