"""verify passes for every real segmenter kind: random-weight checkpoint -> export onnx -> verify (32x64).

Skipped while a kind's module is not on this branch (the segmenters land from their own branch).
"""

from __future__ import annotations

import importlib.util

import pytest
import torch

from export.__main__ import main as export_main
from export.bench_models import BENCH_MODELS
from rain_seg_ros.labels import CITYSCAPES_CLASSES
from training.engine.checkpoint import ModuleSpec, save_checkpoint
from training.models import MODEL_KINDS


def _available(kind: str) -> bool:
    return importlib.util.find_spec(MODEL_KINDS[kind].partition(":")[0]) is not None


@pytest.mark.slow
@pytest.mark.parametrize("name", list(BENCH_MODELS))
def test_export_and_verify_real_segmenter(name, tmp_path, capsys):
    kind, kwargs = BENCH_MODELS[name]
    if not _available(kind):
        pytest.skip(f"{MODEL_KINDS[kind]} is not on this branch yet")
    from training.models import build_model

    torch.manual_seed(0)
    model = build_model(kind, kwargs)
    meta = {"task": "segmentation", "num_classes": 19, "class_names": list(CITYSCAPES_CLASSES),
            "ignore_index": 255, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
            "input_size": [32, 64]}
    save_checkpoint(tmp_path / "run", 1, {"model": (ModuleSpec(kind, kwargs), model)}, extra_meta=meta)
    out = tmp_path / f"{name}.onnx"
    assert export_main(["onnx", "--checkpoint", str(tmp_path / "run"), "--out", str(out)]) == 0
    code = export_main(["verify", "--model", str(out), "--checkpoint", str(tmp_path / "run"),
                        "--num-random", "2"])
    printed = capsys.readouterr().out
    assert code == 0 and "PASS" in printed, printed
