"""Rain100H/L in the layouts deraining codebases ship: PReNet's datasets/ tree, MPRNet's input/target."""

from __future__ import annotations

import numpy as np
import pytest

from training.data import DatasetLayoutError, build_dataset

from .data_layouts import write_input_target, write_rain100_prenet, write_rgb
from .test_rain_pair_readers import assert_pair


def test_prenet_datasets_tree(tmp_path) -> None:
    rng = np.random.default_rng(30)
    train = write_rain100_prenet(tmp_path / "datasets" / "train" / "RainTrainH", 3, rng)
    test = write_rain100_prenet(tmp_path / "datasets" / "test" / "Rain100H", 2, rng, digits=3)
    write_rain100_prenet(tmp_path / "datasets" / "test" / "Rain100L", 4, rng, digits=3)
    ds = build_dataset("rain100h", tmp_path / "datasets", "train")
    assert len(ds) == 3
    assert_pair(ds[2], *train[3])
    ds = build_dataset("rain100h", tmp_path / "datasets", "test")
    assert [it.rainy.name for it in ds.items] == ["rain-001.png", "rain-002.png"]
    assert_pair(ds[1], *test[2])
    assert len(build_dataset("rain100l", tmp_path / "datasets", "test")) == 4
    with pytest.raises(DatasetLayoutError, match="RainTrainL"):
        build_dataset("rain100l", tmp_path / "datasets", "train")


def test_mprnet_input_target_tree(tmp_path) -> None:
    rng = np.random.default_rng(31)
    names = ["1.png", "2.png", "10.png"]
    written = write_input_target(tmp_path / "Datasets" / "test" / "Rain100H", names, rng)
    ds = build_dataset("rain100h", tmp_path / "Datasets", "test")
    assert sorted(it.name for it in ds.items) == ["1", "10", "2"]
    by_name = {it.name: i for i, it in enumerate(ds.items)}
    assert_pair(ds[by_name["10"]], *written["10.png"])
    # The Rain100H folder itself, as Restormer's Rain13K/test/Rain100H is often passed.
    ds = build_dataset("rain100h", tmp_path / "Datasets" / "test" / "Rain100H", "test")
    assert_pair(ds[by_name["2"]], *written["2.png"])


def test_input_target_with_rain100_names_pair_by_number(tmp_path) -> None:
    rng = np.random.default_rng(32)
    folder = tmp_path / "Rain100L"
    pairs = {k: (write_rgb(folder / "input" / f"rain-{k:03d}.png", rng),
                 write_rgb(folder / "target" / f"norain-{k:03d}.png", rng)) for k in (1, 2)}
    ds = build_dataset("rain100l", tmp_path, "test")
    assert_pair(ds[1], *pairs[2])
