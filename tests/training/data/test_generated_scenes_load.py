"""`generate-scenes` output loads unchanged through the Cityscapes and Rain100H readers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from training.data import build_dataset

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def scenes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("scenes")
    cmd = [sys.executable, "-m", "training", "generate-scenes", "--out", str(out), "--count", "4",
           "--size", "64x128", "--seed", "0", "--splits", "train=4", "--night"]
    result = subprocess.run(cmd, check=False, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return out


def test_cityscapes_reader_loads_clean_rain_and_night_twins(scenes: Path) -> None:
    variants = {v: build_dataset("cityscapes", scenes, "train", variant=v)
                for v in ("clean", "rain", "night")}
    names = [it.name for it in variants["clean"].items]
    assert len(names) == 4
    for variant, ds in variants.items():
        assert [it.name for it in ds.items] == names, variant
    for index in range(4):
        samples = {v: ds[index] for v, ds in variants.items()}
        clean = samples["clean"]
        assert clean["image"].shape == (3, 64, 128) and clean["mask"].shape == (64, 128)
        # The generator also writes train ids directly: our labelIds -> trainIds conversion
        # (cityscapesscripts' table) must reproduce them exactly.
        name = clean["name"]
        train_ids = np.asarray(Image.open(
            scenes / "cityscapes/gtFine/train/synth" / f"{name}_gtFine_labelTrainIds.png"))
        np.testing.assert_array_equal(clean["mask"].numpy(), train_ids)
        # Twins: identical labels, different pixels.
        for variant in ("rain", "night"):
            assert torch.equal(samples[variant]["mask"], clean["mask"])
            assert not torch.equal(samples[variant]["image"], clean["image"])
    assert set(torch.unique(clean["mask"]).tolist()) <= set(range(19)) | {255}


def test_rain100h_reader_loads_generated_pairs(scenes: Path) -> None:
    for root in (scenes, scenes / "rain_pairs"):
        ds = build_dataset("rain100h", root, "train", crop_size=(32, 32), random_crop=False)
        assert len(ds) >= 1
        sample = ds[0]
        assert sample["rainy"].shape == sample["clean"].shape == (3, 32, 32)
    full = build_dataset("rain100h", scenes / "rain_pairs", "train")
    assert all(not torch.equal(full[i]["rainy"], full[i]["clean"]) for i in range(len(full)))
