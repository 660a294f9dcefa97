"""ACDC, Dark Zurich and BDD100K readers on tiny trees in their official layouts."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cityscapesscripts.helpers.labels import id2label

from training.data import DatasetLayoutError, build_dataset

from .data_layouts import LABEL_IDS, write_ids, write_rgb

TRAIN_IDS = np.array(list(range(19)) + [255], dtype=np.uint8)


def as_image(array: np.ndarray) -> np.ndarray:
    return array / 255.0


def write_acdc(root, rng, condition, split, seq, frames, label="labelTrainIds"):
    written = {}
    for n in frames:
        stem = f"{seq}_frame_{n:06d}"
        image = write_rgb(root / "rgb_anon" / condition / split / seq / f"{stem}_rgb_anon.png", rng)
        ref_dir = root / "rgb_anon" / condition / f"{split}_ref" / seq
        ref = write_rgb(ref_dir / f"{stem}_rgb_ref_anon.png", rng)
        ids = None
        if split != "test":
            values = TRAIN_IDS if label == "labelTrainIds" else LABEL_IDS
            ids = write_ids(root / "gt" / condition / split / seq / f"{stem}_gt_{label}.png", rng, values)
            # The release also ships colour and invalid-mask files next to the ids; they must be ignored.
            write_rgb(root / "gt" / condition / split / seq / f"{stem}_gt_labelColor.png", rng)
        written[f"{condition}/{stem}"] = (image, ref, ids)
    return written


def test_acdc_conditions_labels_and_ref(tmp_path) -> None:
    rng = np.random.default_rng(10)
    rain = write_acdc(tmp_path, rng, "rain", "val", "GOPR0400", [1, 2])
    fog = write_acdc(tmp_path, rng, "fog", "val", "GOPR0475", [7], label="labelIds")
    for cond in ("night", "snow"):
        write_acdc(tmp_path, rng, cond, "val", "GOPR0600", [3])
    ds = build_dataset("acdc", tmp_path, "val", condition="rain", return_ref=True)
    assert [it.name for it in ds.items] == sorted(rain)
    sample = ds[1]
    image, ref, ids = rain[sample["name"]]
    np.testing.assert_allclose(sample["image"].permute(1, 2, 0).numpy(), as_image(image), atol=1e-6)
    np.testing.assert_allclose(sample["ref"].permute(1, 2, 0).numpy(), as_image(ref), atol=1e-6)
    np.testing.assert_array_equal(sample["mask"].numpy(), ids)
    # labelIds-only conditions are mapped through the official table.
    fog_sample = build_dataset("acdc", tmp_path, "val", condition="fog")[0]
    expected = np.vectorize(lambda v: id2label[int(v)].trainId % 256)(fog["fog/GOPR0475_frame_000007"][2])
    np.testing.assert_array_equal(fog_sample["mask"].numpy(), np.where(expected == 255, 255, expected))
    assert len(build_dataset("acdc", tmp_path, "val")) == 5  # all four conditions
    assert "ref" not in ds.__class__(ds.items)[0]


def test_acdc_errors_and_test_split(tmp_path) -> None:
    rng = np.random.default_rng(11)
    write_acdc(tmp_path, rng, "night", "test", "GOPR0001", [1])
    test = build_dataset("acdc", tmp_path, "test", condition="night")
    assert (test[0]["mask"] == 255).all()
    with pytest.raises(DatasetLayoutError, match="rgb_anon/snow/test"):
        build_dataset("acdc", tmp_path, "test", condition="snow")
    write_acdc(tmp_path, rng, "night", "train", "GOPR0002", [1, 2])
    (tmp_path / "gt/night/train/GOPR0002/GOPR0002_frame_000002_gt_labelTrainIds.png").unlink()
    with pytest.raises(DatasetLayoutError, match="GOPR0002_frame_000002_gt_labelTrainIds.png"):
        build_dataset("acdc", tmp_path, "train", condition="night")
    (tmp_path / "rgb_anon/night/test_ref/GOPR0001/GOPR0001_frame_000001_rgb_ref_anon.png").unlink()
    with pytest.raises(DatasetLayoutError, match="no reference"):
        build_dataset("acdc", tmp_path, "test", condition="night", return_ref=True)


def test_dark_zurich_train_correspondences(tmp_path) -> None:
    rng = np.random.default_rng(12)
    images = {}
    for time, seq, n in [("night", "GOPR0356", 1), ("night", "GOPR0356", 2), ("day", "GOPR0351", 9),
                         ("day", "GOPR0351", 10), ("twilight", "GOPR0360", 4)]:
        key = f"train/{time}/{seq}/{seq}_frame_{n:06d}"
        images[key] = write_rgb(tmp_path / "rgb_anon" / f"{key}_rgb_anon.png", rng)
    corresp = tmp_path / "corresp/train/night/GOPR0356/corresp.csv"
    corresp.parent.mkdir(parents=True)
    corresp.write_text("train/night/GOPR0356/GOPR0356_frame_000001,train/day/GOPR0351/GOPR0351_frame_000010\n"
                       "train/night/GOPR0356/GOPR0356_frame_000002,train/day/GOPR0351/GOPR0351_frame_000009\n")
    night = build_dataset("dark_zurich", tmp_path, "train", time="night", return_ref=True)
    assert len(night) == 2
    sample = night[0]
    assert sample["name"] == "night/GOPR0356_frame_000001"
    np.testing.assert_allclose(sample["ref"].permute(1, 2, 0).numpy(),
                               as_image(images["train/day/GOPR0351/GOPR0351_frame_000010"]), atol=1e-6)
    assert (sample["mask"] == 255).all()  # unlabelled split
    assert len(build_dataset("dark_zurich", tmp_path, "train", time="day")) == 2
    # DANNet's list (same rows) passed explicitly, with a missing day image -> clear error.
    bad = tmp_path / "zurich_dn_pair_train.csv"
    bad.write_text("train/night/GOPR0356/GOPR0356_frame_000001,train/day/GOPR0351/GOPR0351_frame_000077\n")
    with pytest.raises(DatasetLayoutError, match="GOPR0351_frame_000077_rgb_anon.png"):
        build_dataset("dark_zurich", tmp_path, "train", pair_list=bad)
    with pytest.raises(DatasetLayoutError, match="no reference"):
        build_dataset("dark_zurich", tmp_path, "train", time="twilight", return_ref=True)


def test_dark_zurich_val_gt_and_refs(tmp_path) -> None:
    rng = np.random.default_rng(13)
    stems = ["GOPR0356_frame_000321", "GOPR0356_frame_000330"]
    written = {}
    for stem in stems:
        image = write_rgb(tmp_path / f"rgb_anon/val/night/GOPR0356/{stem}_rgb_anon.png", rng)
        ref = write_rgb(tmp_path / f"rgb_anon/val_ref/day/GOPR0356_ref/{stem}_ref_rgb_anon.png", rng)
        ids = write_ids(tmp_path / f"gt/val/night/GOPR0356/{stem}_gt_labelTrainIds.png", rng, TRAIN_IDS)
        written[f"night/{stem}"] = (image, ref, ids)
    ds = build_dataset("dark_zurich", tmp_path, "val", return_ref=True)
    for i in range(2):
        sample = ds[i]
        image, ref, ids = written[sample["name"]]
        np.testing.assert_allclose(sample["ref"].permute(1, 2, 0).numpy(), as_image(ref), atol=1e-6)
        np.testing.assert_array_equal(sample["mask"].numpy(), ids)
    # The official aligned lists take precedence over the folder convention (here: swapped refs).
    lists = tmp_path / "lists_file_names"
    lists.mkdir()
    (lists / "val_filenames.txt").write_text("".join(f"val/night/GOPR0356/{s}\n" for s in stems))
    (lists / "val_ref_filenames.txt").write_text("".join(f"val_ref/day/GOPR0356_ref/{s}_ref\n"
                                                         for s in reversed(stems)))
    swapped = build_dataset("dark_zurich", tmp_path, "val", return_ref=True)[0]
    np.testing.assert_allclose(swapped["ref"].permute(1, 2, 0).numpy(),
                               as_image(written[f"night/{stems[1]}"][1]), atol=1e-6)


def write_bdd(root, rng, split, times):
    written = {}
    frames = []
    for i, time in enumerate(times):
        name = f"{i:04x}abcd-{i:04x}ef01"
        image = write_rgb(root / "images/10k" / split / f"{name}.jpg", rng)
        ids = write_ids(root / "labels/sem_seg/masks" / split / f"{name}.png", rng, TRAIN_IDS)
        written[name] = (image, ids, time)
        if time is not None:
            frames.append({"name": f"{name}.jpg", "attributes": {"weather": "clear", "timeofday": time,
                                                                 "scene": "city street"}, "labels": []})
    (root / "labels/det_20").mkdir(parents=True, exist_ok=True)
    (root / "labels/det_20" / f"det_{split}.json").write_text(json.dumps(frames))
    return written


def test_bdd100k_day_night_by_attributes(tmp_path) -> None:
    rng = np.random.default_rng(14)
    written = write_bdd(tmp_path / "bdd100k", rng, "val", ["night", "daytime", "night", "dawn/dusk", None])
    everything = build_dataset("bdd100k", tmp_path, "val")
    assert len(everything) == 5
    night = build_dataset("bdd100k_night", tmp_path, "val")
    assert sorted(it.name for it in night.items) == sorted(n for n, v in written.items() if v[2] == "night")
    assert "1 images without attributes" in night.description
    day = build_dataset("bdd100k", tmp_path / "bdd100k", "val", timeofday="daytime")
    sample = day[0]
    np.testing.assert_allclose(sample["image"].permute(1, 2, 0).numpy(),
                               as_image(written[sample["name"]][0]), atol=1e-6)
    np.testing.assert_array_equal(sample["mask"].numpy(), written[sample["name"]][1])
    assert len(build_dataset("bdd100k", tmp_path, "val", timeofday=["night", "dawn/dusk"])) == 3
    (tmp_path / "bdd100k/labels/det_20/det_val.json").unlink()
    with pytest.raises(DatasetLayoutError, match="det_val.json"):
        build_dataset("bdd100k_day", tmp_path, "val")
    with pytest.raises(DatasetLayoutError, match="images/10k/train"):
        build_dataset("bdd100k", tmp_path, "train")
