"""`python -m training dataset-info` against an independent numpy count on a generated tree."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from cityscapesscripts.helpers.labels import id2label

from training.commands import dataset_info

from .data_layouts import H, W, write_cityscapes, write_rain100_plain, write_rgb

ROOT = Path(__file__).resolve().parents[3]


def reference_counts(label_id_arrays: list[np.ndarray]) -> dict[str, int]:
    """Count train ids with cityscapesscripts' table, pixel by pixel; ignore (255 / -1) left out."""
    counts: dict[str, int] = {}
    for ids in label_id_arrays:
        values, numbers = np.unique(ids, return_counts=True)
        for value, number in zip(values, numbers):
            train_id = id2label[int(value)].trainId
            if 0 <= train_id < 255:
                counts[str(train_id)] = counts.get(str(train_id), 0) + int(number)
    return counts


def test_segmentation_counts_match_numpy_reference(tmp_path, capsys) -> None:
    written = write_cityscapes(tmp_path, "val", {"munster": 3, "lindau": 2}, np.random.default_rng(30))
    assert dataset_info.main(["--dataset", "cityscapes", "--root", str(tmp_path), "--split", "val"]) == 0
    captured = capsys.readouterr()
    info = json.loads(captured.out)  # stdout holds only the JSON
    assert info["num_samples"] == 5
    assert info["class_pixel_counts"] == reference_counts([ids for _, ids in written.values()])
    total = 5 * H * W
    assert sum(info["class_pixel_counts"].values()) + info["ignore_pixels"] == total
    assert info["unexpected_ids"] == []
    assert "dataset-info" in captured.err  # the progress bar went to stderr


def test_subprocess_pair_stats_and_bad_root(tmp_path, capsys) -> None:
    rng = np.random.default_rng(31)
    write_rain100_plain(tmp_path / "train", 2, rng)
    write_rgb(tmp_path / "train/rain/rain-3.png", rng, shape=(H * 2, W))
    write_rgb(tmp_path / "train/norain/norain-3.png", rng, shape=(H * 2, W))
    cmd = [sys.executable, "-m", "training", "dataset-info", "--dataset", "rain100h",
           "--root", str(tmp_path), "--split", "train"]
    result = subprocess.run(cmd, check=False, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["num_samples"] == 3 and info["num_clean_images"] == 3
    assert info["height"] == {"min": H, "max": 2 * H, "mean": round((2 * H + 2 * H) / 3, 2)}
    assert info["sizes"] == {f"{H}x{W}": 2, f"{2 * H}x{W}": 1}
    code = dataset_info.main(["--dataset", "rain100h", "--root", str(tmp_path / "nope"), "--split", "train"])
    bad = capsys.readouterr()
    assert code == 1 and bad.out == ""
    assert "norain" in bad.err


def test_reader_options_are_passed(tmp_path, capsys) -> None:
    rng = np.random.default_rng(32)
    for cond in ("rain", "fog"):
        for n in range(2 if cond == "rain" else 1):
            stem = f"GOPR0001_frame_{n:06d}"
            write_rgb(tmp_path / f"rgb_anon/{cond}/val/GOPR0001/{stem}_rgb_anon.png", rng)
            ids = np.full((H, W), 255, np.uint8)
            ids[:2] = 13  # car
            path = tmp_path / f"gt/{cond}/val/GOPR0001/{stem}_gt_labelTrainIds.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            from PIL import Image
            Image.fromarray(ids).save(path)
    assert dataset_info.main(["--dataset", "acdc", "--root", str(tmp_path), "--split", "val",
                              "--opt", "condition=rain"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["num_samples"] == 2
    assert info["class_pixel_counts"] == {"13": 2 * 2 * W}
    assert info["ignore_pixels"] == 2 * (H - 2) * W
