"""The docs script (training.dsanet.report) runs end to end on tiny runs and pairs."""

import json

import numpy as np
import pytest

from training.dsanet import report
from training.dsanet.config import DSANetTrainConfig
from training.dsanet.trainer import train
from training.engine.config import resolve_config

from .dsanet_helpers import TINY, TinyPairs, write_png


def test_report_writes_json_and_figures(tmp_path):
    rng = np.random.default_rng(0)
    psnrs = []
    for k in (1, 2, 3):
        clean = rng.integers(0, 230, (36, 44, 3))
        rainy = np.clip(clean + 40, 0, 255)
        write_png(tmp_path / "pairs/rain_pairs/test/norain" / f"norain-{k}.png", clean)
        write_png(tmp_path / "pairs/rain_pairs/test/rain" / f"rain-{k}.png", rainy)
        psnrs.append(10 * np.log10(255.0**2 / np.mean((rainy - clean).astype(float) ** 2)))
    for mode in ("ours", "input1"):
        train(resolve_config(DSANetTrainConfig, None, [*TINY, f"out_dir={tmp_path / mode}", f"mode={mode}",
                                                       "batch_size=2", "steps=2"]), TinyPairs())
    assert report.main(["--run", f"ours={tmp_path / 'ours'}", "--run", f"input1={tmp_path / 'input1'}",
                        "--pairs", str(tmp_path / "pairs"), "--out", str(tmp_path / "docs")]) == 0
    result = json.loads((tmp_path / "docs" / "dsanet_results.json").read_text())
    assert set(result["runs"]) == {"ours", "input1"}
    ours = result["runs"]["ours"]
    assert ours["num_pairs"] == 3 and ours["steps"] == 2 and ours["mode"] == "ours"
    keys = {"derained", "rainy_input", "rainify_0.25", "rainify_1.0", "rainify_then_derain",
            "derained_clean", "twin_rain_vs_rainy", "clean_vs_rainy"}
    assert keys <= set(ours["scores"])
    assert ours["scores"]["rainy_input"]["psnr_rgb"] == pytest.approx(np.mean(psnrs), abs=1e-3)
    # PSNR is symmetric: the clean image against the rainy one scores as the rainy input does
    assert ours["scores"]["clean_vs_rainy"]["psnr_rgb"] == pytest.approx(np.mean(psnrs), abs=1e-3)
    for png in ("dsanet_training_curves.png", "dsanet_examples.png"):
        assert (tmp_path / "docs" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
