"""evaluate-images pairs Rain100H/L names by the dataset's rule and refuses what it cannot pair."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio

from training.commands import evaluate_images


def save(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def noisy(clean: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    return np.clip(clean + rng.normal(0, sigma, clean.shape), 0, 255).astype(np.uint8)


@pytest.fixture
def rain100_release(tmp_path):
    """Outputs named after JORDER's rainy files (norain-<k>x2.png) and the references norain-<k>.png."""
    rng = np.random.default_rng(3)
    pairs = {}
    for k in (1, 2, 3):
        clean = rng.integers(0, 256, (24, 30, 3)).astype(np.uint8)
        out = noisy(clean, 2.0 * k, rng)  # each output is close to its own reference only
        save(tmp_path / "norain" / f"norain-{k}.png", clean)
        save(tmp_path / "derained" / f"norain-{k}x2.png", out)
        pairs[k] = (out, clean)
    return tmp_path, pairs


def run(capsys, pred: Path, gt: Path) -> tuple[int, str, str]:
    rc = evaluate_images.main(["--pred", str(pred), "--gt", str(gt), "--per-image"])
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def test_norain_kx2_scores_against_norain_k(rain100_release, capsys):
    root, pairs = rain100_release
    rc, out, err = run(capsys, root / "derained", root / "norain")
    assert rc == 0, err
    result = json.loads(out)
    expected = np.mean([peak_signal_noise_ratio(clean, o, data_range=255) for o, clean in pairs.values()])
    assert result["psnr"] == pytest.approx(expected, abs=1e-9)
    assert result["matched_by"] == "rain100" and result["num_images"] == 3
    assert sorted((Path(r["pred"]).name, Path(r["gt"]).name) for r in result["per_image"]) == [
        ("norain-1x2.png", "norain-1.png"), ("norain-2x2.png", "norain-2.png"),
        ("norain-3x2.png", "norain-3.png")]


def test_unmatched_files_fail_with_their_names(rain100_release, capsys):
    root, pairs = rain100_release
    save(root / "derained" / "norain-7x2.png", pairs[1][0])   # no norain-7.png
    save(root / "norain" / "norain-9.png", pairs[1][1])       # no output for it
    rc, out, err = run(capsys, root / "derained", root / "norain")
    assert rc == 1 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "norain-7x2.png" in lines[0] and "norain-9.png" in lines[0]


def test_prenet_flat_reference_folder(tmp_path, capsys):
    """PReNet's test/Rain100H keeps rain-001.png beside norain-001.png; outputs are named rain-001.png."""
    rng = np.random.default_rng(4)
    clean = rng.integers(0, 256, (24, 30, 3)).astype(np.uint8)
    rainy, out = noisy(clean, 40.0, rng), noisy(clean, 3.0, rng)
    save(tmp_path / "Rain100H" / "rain-001.png", rainy)
    save(tmp_path / "Rain100H" / "norain-001.png", clean)
    save(tmp_path / "results" / "rain-001.png", out)
    rc, stdout, err = run(capsys, tmp_path / "results", tmp_path / "Rain100H")
    assert rc == 0, err
    assert json.loads(stdout)["psnr"] == pytest.approx(peak_signal_noise_ratio(clean, out, data_range=255))
