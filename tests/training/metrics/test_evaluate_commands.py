"""evaluate-masks / evaluate-images on PNG folders the test writes, against numpy and skimage."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage.color import rgb2ycbcr
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from rain_seg_ros.labels import CITYSCAPES_CLASSES
from training.commands import evaluate_images, evaluate_masks

REPO = Path(__file__).resolve().parents[3]


def save(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


@pytest.fixture
def cityscapes_like(tmp_path):
    """gt/val/synth/<stem>_gtFine_{labelTrainIds,labelIds,color}.png; pred/<stem>_leftImg8bit.png."""
    rng = np.random.default_rng(0)
    gts, preds = [], []
    for i in range(3):
        stem = f"synth_000000_{i:06d}"
        gt = rng.integers(0, 5, (12, 16)).astype(np.uint8)  # classes 5..18 never occur
        gt[rng.random(gt.shape) < 0.15] = 255
        pred = np.where(rng.random(gt.shape) < 0.7, gt % 255, rng.integers(0, 6, gt.shape)).astype(np.uint8)
        pred[pred == 255] = 0
        save(tmp_path / "gt" / "val" / "synth" / f"{stem}_gtFine_labelTrainIds.png", gt)
        save(tmp_path / "gt" / "val" / "synth" / f"{stem}_gtFine_labelIds.png", gt + 7)
        save(tmp_path / "gt" / "val" / "synth" / f"{stem}_gtFine_color.png", np.zeros((12, 16, 3), np.uint8))
        if i < 2:  # the third ground truth has no prediction
            save(tmp_path / "pred" / f"{stem}_leftImg8bit.png", pred)
            gts.append(gt)
            preds.append(pred)
    save(tmp_path / "pred" / "other_000000_000000_leftImg8bit.png", np.zeros((12, 16), np.uint8))
    return tmp_path, np.stack(preds), np.stack(gts)


def test_evaluate_masks_matches_pixel_formulas(cityscapes_like, capsys):
    root, pred, gt = cityscapes_like
    rc = evaluate_masks.main(["--pred", str(root / "pred"), "--gt", str(root / "gt"), "--num-classes", "19"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    out = json.loads(captured.out)  # stdout holds the JSON and nothing else

    valid = gt != 255
    ious = {}
    for c, name in enumerate(CITYSCAPES_CLASSES):
        p, g = (pred == c) & valid, (gt == c) & valid
        ious[name] = (p & g).sum() / (p | g).sum() * 100 if (p | g).any() else None
    assert out["per_class_iou"].keys() == ious.keys()
    for name, ref in ious.items():
        assert out["per_class_iou"][name] == (None if ref is None else pytest.approx(ref)), name
    assert ious["sky"] is None and out["per_class_iou"]["terrain"] is None  # absent: null
    assert out["mIoU"] == pytest.approx(np.mean([v for v in ious.values() if v is not None]))
    accs = [((pred == c) & (gt == c)).sum() / (gt == c).sum() * 100 for c in range(5)]
    assert out["mAcc"] == pytest.approx(np.mean(accs))
    assert out["aAcc"] == pytest.approx(((pred == gt) & valid).sum() / valid.sum() * 100)
    assert out["num_images"] == 2 and out["unmatched_gt"] == 1 and out["unmatched_pred"] == 1
    assert "synth_000000_000002_gtFine_labelTrainIds.png" in captured.err
    assert "other_000000_000000_leftImg8bit.png" in captured.err


def test_evaluate_masks_errors(cityscapes_like, tmp_path, capsys):
    root, _, _ = cityscapes_like
    args = ["--pred", str(root / "pred"), "--gt", str(root / "gt"), "--num-classes", "19"]
    assert evaluate_masks.main([*args, "--require-all"]) == 1
    assert "synth_000000_000002" in capsys.readouterr().err
    save(tmp_path / "elsewhere" / "unrelated.png", np.zeros((12, 16), np.uint8))
    assert evaluate_masks.main(["--pred", str(tmp_path / "elsewhere"), "--gt", str(root / "gt"),
                                "--num-classes", "19"]) == 1
    err = capsys.readouterr().err
    assert "no prediction matches" in err
    # Labels in labelIds (up to 11 here) are out of range for 5 classes: a clear error naming the file.
    assert evaluate_masks.main([*args, "--num-classes", "5", "--gt-suffix", "_gtFine_labelIds"]) == 1
    assert "outside [0, 5)" in capsys.readouterr().err


def test_evaluate_masks_cli_stdout_is_json_only(cityscapes_like):
    root, _, _ = cityscapes_like
    proc = subprocess.run(
        [sys.executable, "-m", "training", "evaluate-masks", "--pred", str(root / "pred"),
         "--gt", str(root / "gt"), "--num-classes", "6", "--class-names", "generic"],
        check=False, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert list(out["per_class_iou"]) == [f"class_{i}" for i in range(6)]
    assert "evaluate-masks" in proc.stderr  # the progress bar went to stderr


def test_evaluate_images_matches_skimage(tmp_path, capsys):
    rng = np.random.default_rng(1)
    refs, outs = [], []
    for k in (1, 2, 10):
        clean = rng.integers(0, 256, (24, 30, 3)).astype(np.uint8)
        rain = np.clip(clean + rng.normal(0, 15 * k ** 0.5, clean.shape), 0, 255).astype(np.uint8)
        save(tmp_path / "norain" / f"norain-{k}.png", clean)
        save(tmp_path / "rain" / f"rain-{k}.png", rain)
        refs.append(clean)
        outs.append(rain)
    save(tmp_path / "norain" / "norain-4.png", refs[0])
    save(tmp_path / "rain" / "rain-4.png", refs[0])  # identical pair: infinite PSNR

    def sk(y_channel: bool) -> tuple[float, float]:
        conv = (lambda x: rgb2ycbcr(x)[..., 0]) if y_channel else (lambda x: x.astype(np.float64))
        p = [peak_signal_noise_ratio(conv(r), conv(o), data_range=255) for r, o in zip(refs, outs)]
        s = [structural_similarity(conv(o), conv(r), gaussian_weights=True, sigma=1.5,
                                   use_sample_covariance=False, data_range=255,
                                   channel_axis=None if y_channel else -1) for r, o in zip(refs, outs)]
        return float(np.mean(p)), float(np.mean(s + [1.0]))

    for flag in (False, True):
        argv = ["--pred", str(tmp_path / "rain"), "--gt", str(tmp_path / "norain"), "--per-image"]
        assert evaluate_images.main(argv + (["--y-channel"] if flag else [])) == 0
        out = json.loads(capsys.readouterr().out)
        ref_psnr, ref_ssim = sk(flag)
        assert out["psnr"] == pytest.approx(ref_psnr, abs=1e-6)
        assert out["ssim"] == pytest.approx(ref_ssim, abs=1e-6)
        assert out["num_images"] == 4 and out["num_identical"] == 1 and out["matched_by"] == "rain100"
        assert out["y_channel"] is flag
        assert [r["psnr"] is None for r in out["per_image"]] == [False, False, False, True]
    assert not math.isclose(sk(True)[0], sk(False)[0])  # the two modes really differ


def test_evaluate_images_size_mismatch(tmp_path, capsys):
    save(tmp_path / "a" / "x.png", np.zeros((16, 16, 3), np.uint8))
    save(tmp_path / "b" / "x.png", np.zeros((16, 17, 3), np.uint8))
    assert evaluate_images.main(["--pred", str(tmp_path / "a"), "--gt", str(tmp_path / "b")]) == 1
    assert "17x16" in capsys.readouterr().err
