"""Cityscapes (fine, coarse, generate-scenes variants) and KITTI readers on trees the test writes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from cityscapesscripts.helpers.labels import id2label
from PIL import Image

from rain_seg_ros.labels import CITYSCAPES_CLASSES, TRAIN_ID_TO_LABEL_ID
from training.data import DatasetContentError, DatasetLayoutError, build_dataset
from training.data.cityscapes import label_id_to_train_id_lut

from .data_layouts import LABEL_IDS, H, W, write_cityscapes, write_ids, write_rgb


def to_train_ids(label_ids: np.ndarray) -> np.ndarray:
    """Independent reference: per-pixel lookup in cityscapesscripts' id2label."""
    out = np.empty(label_ids.shape, dtype=np.int64)
    for (y, x), value in np.ndenumerate(label_ids):
        train_id = id2label[int(value)].trainId
        out[y, x] = 255 if train_id in (-1, 255) else train_id
    return out


def test_label_table_agrees_with_cityscapesscripts() -> None:
    official = {l.trainId: l.id for l in id2label.values() if 0 <= l.trainId < 255}
    assert len(official) == 19
    assert tuple(official[t] for t in range(19)) == TRAIN_ID_TO_LABEL_ID
    assert tuple(id2label[i].name for i in TRAIN_ID_TO_LABEL_ID) == CITYSCAPES_CLASSES
    lut = label_id_to_train_id_lut()
    for train_id, label_id in enumerate(TRAIN_ID_TO_LABEL_ID):
        assert lut[label_id] == train_id
    assert (np.delete(lut, list(TRAIN_ID_TO_LABEL_ID)) == 255).all()


def test_cityscapes_fine_samples_match_files(tmp_path) -> None:
    rng = np.random.default_rng(0)
    written = write_cityscapes(tmp_path, "val", {"frankfurt": 2, "lindau": 1}, rng)
    ds = build_dataset("cityscapes", tmp_path, "val")
    assert len(ds) == 3
    assert sorted(ds.items[i].name for i in range(3)) == sorted(written)
    for i in range(len(ds)):
        sample = ds[i]
        image, label_ids = written[sample["name"]]
        assert sample["image"].dtype == torch.float32 and sample["image"].shape == (3, H, W)
        assert sample["mask"].dtype == torch.int64 and sample["mask"].shape == (H, W)
        np.testing.assert_allclose(sample["image"].permute(1, 2, 0).numpy(), image / 255.0, atol=1e-6)
        np.testing.assert_array_equal(sample["mask"].numpy(), to_train_ids(label_ids))


def test_cityscapes_coarse_train_extra(tmp_path) -> None:
    rng = np.random.default_rng(1)
    written = write_cityscapes(tmp_path, "train_extra", {"augsburg": 2}, rng, gt="gtCoarse")
    ds = build_dataset("cityscapes_coarse", tmp_path, "train_extra")
    assert len(ds) == 2
    sample = ds[1]
    np.testing.assert_array_equal(sample["mask"].numpy(), to_train_ids(written[sample["name"]][1]))
    write_cityscapes(tmp_path, "val", {"augsburg": 1}, rng, gt="gtCoarse")
    assert len(build_dataset("cityscapes_coarse", tmp_path, "val")) == 1
    with pytest.raises(DatasetLayoutError, match="gtFine/val"):
        build_dataset("cityscapes", tmp_path, "val")  # only coarse labels exist
    with pytest.raises(ValueError, match="train_extra"):
        build_dataset("cityscapes", tmp_path, "train_extra")  # not a fine split


def test_cityscapes_errors_name_the_expected_paths(tmp_path) -> None:
    with pytest.raises(DatasetLayoutError, match="leftImg8bit"):
        build_dataset("cityscapes", tmp_path, "train")
    rng = np.random.default_rng(2)
    write_cityscapes(tmp_path, "train", {"bremen": 2}, rng)
    missing = tmp_path / "gtFine/train/bremen/bremen_000001_000019_gtFine_labelIds.png"
    missing.unlink()
    with pytest.raises(DatasetLayoutError, match="bremen_000001_000019_gtFine_labelIds.png"):
        build_dataset("cityscapes", tmp_path, "train")
    # Size mismatch between image and label is reported with both sizes.
    write_ids(missing, rng, LABEL_IDS, shape=(H + 2, W))
    ds = build_dataset("cityscapes", tmp_path, "train")
    with pytest.raises(DatasetContentError, match=f"{W}x{H}"):
        ds[1]
    # A colour label rendering instead of ids is refused.
    Image.fromarray(np.zeros((H, W, 3), np.uint8)).save(missing)
    with pytest.raises(DatasetContentError, match="single-channel"):
        ds[1]


def test_cityscapes_generate_scenes_variant_roots(tmp_path) -> None:
    rng = np.random.default_rng(3)
    clean = write_cityscapes(tmp_path / "cityscapes", "train", {"synth": 2}, rng)
    rain = write_cityscapes(tmp_path / "cityscapes_rain", "train", {"synth": 2}, rng)
    default = build_dataset("cityscapes", tmp_path, "train")
    rainy = build_dataset("cityscapes", tmp_path, "train", variant="rain")
    direct = build_dataset("cityscapes", tmp_path / "cityscapes_rain", "train")
    name = rainy[0]["name"]
    for ds, written in ((rainy, rain), (default, clean)):
        image = ds[0]["image"].permute(1, 2, 0).numpy()
        np.testing.assert_allclose(image, written[name][0] / 255.0, atol=1e-6)
    assert direct.items == rainy.items
    with pytest.raises(DatasetLayoutError, match="cityscapes_night"):
        build_dataset("cityscapes", tmp_path, "train", variant="night")


def write_kitti(root, names, rng, testing=()):
    written = {}
    for name in names:
        image = write_rgb(root / "data_semantics/training/image_2" / f"{name}.png", rng)
        ids = write_ids(root / "data_semantics/training/semantic" / f"{name}.png", rng, LABEL_IDS)
        written[name] = (image, ids)
    for name in testing:
        write_rgb(root / "data_semantics/testing/image_2" / f"{name}.png", rng)
    return written


def test_kitti_nine_to_one_split_by_sorted_name(tmp_path) -> None:
    rng = np.random.default_rng(4)
    names = [f"{i:06d}_10" for i in range(20)]
    written = write_kitti(tmp_path, reversed(names), rng, testing=["000000_10"])
    train = build_dataset("kitti", tmp_path, "train")
    val = build_dataset("kitti", tmp_path, "val")
    assert [it.name for it in train.items] == names[:18]
    assert [it.name for it in val.items] == names[18:]
    sample = val[1]
    np.testing.assert_array_equal(sample["mask"].numpy(), to_train_ids(written[sample["name"]][1]))
    # data_semantics itself as root, and the unlabelled test split (all ignore).
    assert len(build_dataset("kitti", tmp_path / "data_semantics", "trainval")) == 20
    test = build_dataset("kitti", tmp_path, "test")
    assert len(test) == 1 and (test[0]["mask"] == 255).all()
    (tmp_path / "data_semantics/training/semantic/000005_10.png").unlink()
    with pytest.raises(DatasetLayoutError, match="000005_10.png"):
        build_dataset("kitti", tmp_path, "train")


def test_cityscapes_variant_folder_named_directly(tmp_path) -> None:
    rng = np.random.default_rng(5)
    write_cityscapes(tmp_path / "cityscapes_night", "val", {"synth": 1}, rng)
    write_cityscapes(tmp_path / "cityscapes", "val", {"synth": 1}, rng)
    night = build_dataset("cityscapes", tmp_path / "cityscapes_night", "val", variant="night")
    assert night.items == build_dataset("cityscapes", tmp_path, "val", variant="night").items
    with pytest.raises(DatasetLayoutError, match="cityscapes_rain"):
        build_dataset("cityscapes", tmp_path / "cityscapes", "val", variant="rain")
