"""restore-masks output read back as a training set: the Cityscapes reader must give the train
ids that cityscapesscripts' table assigns to the labelIds restore-masks wrote (the closed loop's
label space), for restorers trained on either label scheme."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from cityscapesscripts.helpers.labels import id2label
from PIL import Image

from tests.training.restoration.conftest import TINY
from training.__main__ import main as training_main
from training.data import build_dataset
from training.restoration.data import find_items, read_mask
from training.restoration.incomplete import coarse_mask


def _coarse_root(scenes: Path, out: Path) -> Path:
    out.mkdir(parents=True)
    os.symlink(scenes / "cityscapes" / "leftImg8bit", out / "leftImg8bit")
    for item in find_items(scenes, "train"):
        coarse = coarse_mask(read_mask(item, "label_ids"), erode_px=1, min_area=4, drop_p=0.0,
                             rng=np.random.default_rng(0))
        coarse[coarse == 255] = 0                                  # gtCoarse gaps are labelId 0
        path = out / "gtCoarse" / "train" / "synth" / f"{item.name}_gtCoarse_labelIds.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(coarse).save(path)
    return out


def _train_id(label_id: int) -> int:
    train_id = id2label[label_id].trainId
    return 255 if train_id in (-1, 255) else train_id


@pytest.mark.parametrize("labels", ["label_ids", "train_ids"])
def test_reader_gives_cityscapesscripts_train_ids_of_restored_label_ids(tmp_path, scenes, labels):
    restorer = tmp_path / "restorer"
    assert training_main(["train-mask-restorer", *TINY, f"data.root={scenes}", f"out_dir={restorer}",
                          f"labels={labels}", "task=sparse", "steps=1", "loss.vgg=0", "loss.l1=0"]) == 0
    out = tmp_path / "restored"
    assert training_main(["restore-masks", "--restorer", str(restorer), "--labels",
                          str(_coarse_root(scenes, tmp_path / "coarse")), "--out", str(out)]) == 0
    ds = build_dataset("cityscapes", out, "train")
    assert len(ds) == len(find_items(scenes, "train"))
    for index in range(len(ds)):
        label_file = out / "gtFine" / "train" / "synth" / f"{ds.items[index].name}_gtFine_labelIds.png"
        label_ids = np.asarray(Image.open(label_file))
        assert label_ids.max() <= 33                               # labelIds 0..33, never 255
        expected = np.vectorize(_train_id)(label_ids)
        assert np.array_equal(ds[index]["mask"].numpy(), expected)
        train_file = str(label_file).replace("_labelIds.png", "_labelTrainIds.png")
        assert np.array_equal(np.asarray(Image.open(train_file)), expected)
