"""train-dsanet and evaluate-derain through `python -m training`'s dispatcher, on a tiny
Rain100H-layout tree read by training.data (the shared reader)."""

import json

import numpy as np
import pytest

from training.__main__ import main as training_main

from .dsanet_helpers import TINY, write_png


@pytest.fixture
def rain_tree(tmp_path):
    rng = np.random.default_rng(0)
    for split, count in (("train", 4), ("test", 2)):
        for k in range(1, count + 1):
            clean = rng.integers(0, 200, (36, 40, 3))
            rainy = np.clip(clean + 55 * (rng.random((36, 40, 1)) > 0.9), 0, 255)
            write_png(tmp_path / "rain_pairs" / split / "norain" / f"norain-{k}.png", clean)
            write_png(tmp_path / "rain_pairs" / split / "rain" / f"rain-{k}.png", rainy)
    return tmp_path


def test_train_then_evaluate_derain(rain_tree, tmp_path, capsys):
    run = tmp_path / "run"
    assert training_main(["train-dsanet", *TINY, f"data.root={rain_tree}", f"out_dir={run}",
                          "batch_size=2", "steps=2", "device=cpu"]) == 0
    assert (run / "checkpoints" / "latest").read_text() == "step_00000002"
    capsys.readouterr()
    out_json = tmp_path / "eval.json"
    assert training_main(["evaluate-derain", "--dsanet", str(run), "--dataset", "rain100h",
                          "--root", str(rain_tree), "--split", "test", "--out", str(out_json)]) == 0
    result = json.loads(out_json.read_text())
    assert result["num_pairs"] == 2
    assert set(result["derained"]) == {"psnr_rgb", "ssim_rgb", "psnr_y", "ssim_y"}
    # the rainy-input baseline, against an independent numpy PSNR of the files themselves
    from PIL import Image
    psnrs = []
    for k in (1, 2):
        a = np.asarray(Image.open(rain_tree / f"rain_pairs/test/rain/rain-{k}.png"), dtype=np.float64)
        b = np.asarray(Image.open(rain_tree / f"rain_pairs/test/norain/norain-{k}.png"), dtype=np.float64)
        psnrs.append(10 * np.log10(255.0 ** 2 / np.mean((a - b) ** 2)))
    assert result["rainy_input"]["psnr_rgb"] == pytest.approx(np.mean(psnrs), abs=1e-3)


def test_bad_override_is_a_clear_error(rain_tree, tmp_path, capsys):
    assert training_main(["train-dsanet", f"data.root={rain_tree}", "model.width=3"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: config.model: unknown key(s) ['width']") and err.count("\n") == 1, err
