"""Rain/clean pair readers: Rain100H/L, Rain1200/Test1200, Rain1400, Test100, SPA-Data, paired folder."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from training.data import DatasetContentError, DatasetLayoutError, build_dataset

from .data_layouts import H, W, write_rain100_official, write_rain100_plain, write_rgb, write_side_by_side


def hwc(tensor: torch.Tensor) -> np.ndarray:
    return tensor.permute(1, 2, 0).numpy()


def assert_pair(sample, rainy: np.ndarray, clean: np.ndarray) -> None:
    assert sample["rainy"].dtype == torch.float32 and sample["rainy"].shape == (3, *rainy.shape[:2])
    np.testing.assert_allclose(hwc(sample["rainy"]), rainy / 255.0, atol=1e-6)
    np.testing.assert_allclose(hwc(sample["clean"]), clean / 255.0, atol=1e-6)


def test_rain100h_official_release_layout(tmp_path) -> None:
    rng = np.random.default_rng(20)
    written = write_rain100_official(tmp_path / "rain_data_train_Heavy", 11, rng)
    ds = build_dataset("rain100h", tmp_path, "train")
    assert [it.name for it in ds.items] == [str(k) for k in range(1, 12)]  # numeric order: 2 before 10
    assert_pair(ds[9], *written[10])
    with pytest.raises(DatasetLayoutError, match="rain_data_test_Heavy"):
        build_dataset("rain100h", tmp_path, "test")


def test_rain100l_plain_rainy_and_flat_variants(tmp_path) -> None:
    rng = np.random.default_rng(21)
    plain = write_rain100_plain(tmp_path / "plain" / "test", 3, rng, rainy_dir="rainy")
    assert_pair(build_dataset("rain100l", tmp_path / "plain", "test")[2], *plain[3])
    flat = {}
    for k in (1, 2):  # PReNet: RainTrainL/rain-<k>.png next to norain-<k>.png
        flat[k] = (write_rgb(tmp_path / "prenet/RainTrainL" / f"rain-{k}.png", rng),
                   write_rgb(tmp_path / "prenet/RainTrainL" / f"norain-{k}.png", rng))
    ds = build_dataset("rain100l", tmp_path / "prenet", "train")
    assert len(ds) == 2
    assert_pair(ds[1], *flat[2])
    (tmp_path / "plain/test/norain/norain-2.png").unlink()
    with pytest.raises(DatasetLayoutError, match="rain-2.png has no clean"):
        build_dataset("rain100l", tmp_path / "plain", "test")


def test_pair_crop_is_the_same_window_in_both(tmp_path) -> None:
    rng = np.random.default_rng(22)
    written = write_rain100_plain(tmp_path / "train", 1, rng)
    rainy, clean = written[1]
    center = build_dataset("rain100h", tmp_path, "train", crop_size=(4, 6), random_crop=False)[0]
    top, left = (H - 4) // 2, (W - 6) // 2
    assert_pair(center, rainy[top:top + 4, left:left + 6], clean[top:top + 4, left:left + 6])
    ds = build_dataset("rain100h", tmp_path, "train", crop_size=5)
    for _ in range(10):
        sample = ds[0]
        crop = (hwc(sample["rainy"]) * 255).round().astype(np.uint8)
        # Locate the crop in the full rainy image, then the clean crop must be the same window.
        hits = [(y, x) for y in range(H - 4) for x in range(W - 4) if (rainy[y:y + 5, x:x + 5] == crop).all()]
        assert len(hits) == 1
        y, x = hits[0]
        np.testing.assert_allclose(hwc(sample["clean"]), clean[y:y + 5, x:x + 5] / 255.0, atol=1e-6)
    with pytest.raises(ValueError, match="larger than the image"):
        build_dataset("rain100h", tmp_path, "train", crop_size=(H + 1, W))[0]


def test_pair_size_mismatch_is_reported(tmp_path) -> None:
    rng = np.random.default_rng(23)
    write_rgb(tmp_path / "rain/rain-1.png", rng)
    write_rgb(tmp_path / "norain/norain-1.png", rng, shape=(H, W + 2))
    with pytest.raises(DatasetContentError, match=f"{W + 2}x{H}"):
        build_dataset("rain100h", tmp_path, "train")[0]


def test_rain1200_did_mdn_side_by_side(tmp_path) -> None:
    rng = np.random.default_rng(24)
    heavy = {k: write_side_by_side(tmp_path / "DID-MDN-training/Rain_Heavy/train2018new" / f"{k}.jpg", rng)
             for k in (1, 2, 10)}
    for density in ("Medium", "Light"):
        write_side_by_side(tmp_path / f"DID-MDN-training/Rain_{density}/train2018new/1.jpg", rng)
    test = {k: write_side_by_side(tmp_path / "DID-MDN-test" / f"{k}.jpg", rng) for k in (0, 1)}
    ds = build_dataset("rain1200", tmp_path, "train", density="heavy")
    assert [it.name for it in ds.items] == ["heavy/1", "heavy/2", "heavy/10"]
    left, right = heavy[10]
    assert_pair(ds[2], left, right)  # DID-MDN: rainy left half, clean right half
    assert len(build_dataset("rain1200", tmp_path, "train")) == 5
    assert_pair(build_dataset("test1200", tmp_path, "test")[1], *test[1])
    assert_pair(build_dataset("test1200", tmp_path / "DID-MDN-test", "test")[0], *test[0])
    info = build_dataset("rain1200", tmp_path, "test")
    assert info.pair_size(0) == (H, W)


def test_test100_right_half_rainy_and_mprnet_folders(tmp_path) -> None:
    rng = np.random.default_rng(25)
    left, right = write_side_by_side(tmp_path / "Test100" / "1.jpg", rng)
    assert_pair(build_dataset("test100", tmp_path, "test")[0], right, left)
    assert_pair(build_dataset("test100", tmp_path, "test", rainy_side="left")[0], left, right)
    rainy = write_rgb(tmp_path / "mpr/input/rain-001.png", rng)
    clean = write_rgb(tmp_path / "mpr/target/rain-001.png", rng)
    assert_pair(build_dataset("test100", tmp_path / "mpr", "test")[0], rainy, clean)


def test_rain1400_several_rainy_per_clean(tmp_path) -> None:
    rng = np.random.default_rng(26)
    clean = {k: write_rgb(tmp_path / "rainy_image_dataset/training/ground_truth" / f"{k}.jpg", rng)
             for k in (1, 2)}
    rainy = {(k, j): write_rgb(tmp_path / "rainy_image_dataset/training/rainy_image" / f"{k}_{j}.jpg", rng)
             for k in (1, 2) for j in (1, 2, 14)}
    ds = build_dataset("rain1400", tmp_path, "train")
    assert [it.name for it in ds.items] == ["1_1", "1_2", "1_14", "2_1", "2_2", "2_14"]
    assert_pair(ds[2], rainy[(1, 14)], clean[1])
    assert_pair(ds[3], rainy[(2, 1)], clean[2])
    with pytest.raises(DatasetLayoutError, match="rainy_image"):
        build_dataset("rain1400", tmp_path, "test")


def test_spa_list_file_and_gt_names(tmp_path) -> None:
    rng = np.random.default_rng(27)
    pairs = []
    for n in range(3):
        rainy = write_rgb(tmp_path / f"real_world/000/000-{n}/000-{n}_1_1.png", rng)
        clean = write_rgb(tmp_path / f"real_world_gt/000/000-{n}/000-{n}_1_1.png", rng)
        pairs.append((rainy, clean))
    lines = [f"/real_world/000/000-{n}/000-{n}_1_1.png /real_world_gt/000/000-{n}/000-{n}_1_1.png"
             for n in range(3)]
    (tmp_path / "real_world.txt").write_text("\n".join(lines) + "\n")
    ds = build_dataset("spa", tmp_path, "train")
    assert len(ds) == 3
    assert_pair(ds[2], *pairs[2])
    # Test set without a list: <name>.png next to <name>gt.png.
    rainy = write_rgb(tmp_path / "testing/real_test_1000/rain/5_rain.png", rng)
    clean = write_rgb(tmp_path / "testing/real_test_1000/rain/5_raingt.png", rng)
    test = build_dataset("spa", tmp_path / "testing", "test")
    assert len(test) == 1
    assert_pair(test[0], rainy, clean)
    (tmp_path / "bad.txt").write_text("/real_world/000/000-0/000-0_1_1.png /missing/x.png\n")
    with pytest.raises(DatasetLayoutError, match="missing/x.png"):
        build_dataset("spa", tmp_path, "train", list_file=tmp_path / "bad.txt")


def test_paired_folder_matches_by_name(tmp_path) -> None:
    rng = np.random.default_rng(28)
    written = {name: (write_rgb(tmp_path / "val/input" / f"{name}.png", rng),
                      write_rgb(tmp_path / "val/gt" / f"{name}.png", rng)) for name in ("b", "a")}
    ds = build_dataset("paired_folder", tmp_path, "val")
    assert [it.name for it in ds.items] == ["a", "b"]
    assert_pair(ds[1], *written["b"])
    write_rgb(tmp_path / "val/input/c.png", rng)
    with pytest.raises(DatasetLayoutError, match="c.png has no image of the same name"):
        build_dataset("paired_folder", tmp_path, "val")
    with pytest.raises(DatasetLayoutError, match="rainy one of"):
        build_dataset("paired_folder", tmp_path / "nowhere", "val")
