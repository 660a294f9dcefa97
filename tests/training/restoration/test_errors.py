"""Bad input gets one line naming the file and what to do: label ids outside the configured
set, a mask whose size differs from its image, weights of another network, pickled code."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tests.training.restoration.conftest import TINY
from training.__main__ import main as training_main


def _layout(tmp_path: Path, scenes: Path, label: np.ndarray | None = None, size=None) -> Path:
    """A one-city Cityscapes root with one scene image (and a label we control)."""
    src = next((scenes / "cityscapes" / "leftImg8bit" / "train" / "synth").iterdir())
    stem = src.name[: -len("_leftImg8bit.png")]
    root = tmp_path / "bad"
    (root / "leftImg8bit" / "train" / "c").mkdir(parents=True)
    (root / "gtFine" / "train" / "c").mkdir(parents=True)
    ref = Image.open(scenes / "cityscapes" / "gtFine" / "train" / "synth" / f"{stem}_gtFine_labelIds.png")
    mask = Image.fromarray((np.asarray(ref) if label is None else label).astype(np.uint8))
    if size is not None:
        mask = mask.resize(size, Image.Resampling.NEAREST)
    for name in (f"{stem}a", f"{stem}b"):   # two samples: one batch of 2
        shutil.copy(src, root / "leftImg8bit" / "train" / "c" / f"{name}_leftImg8bit.png")
        mask.save(root / "gtFine" / "train" / "c" / f"{name}_gtFine_labelIds.png")
    return root


def _run(capsys, argv: list[str]) -> tuple[int, str]:
    rc = training_main(argv)
    err = capsys.readouterr().err.strip()
    return rc, err


def _restorer_argv(tmp_path, root) -> list[str]:
    return ["train-mask-restorer", *TINY, f"data.root={root}", f"out_dir={tmp_path / 'run'}", "steps=1",
            "loss.vgg=0", "loss.l1=0"]


def test_label_ids_outside_the_configured_set(tmp_path, scenes, capsys):
    label = np.full((32, 64), 7, np.uint8)
    label[0, :5] = 40                                        # no Cityscapes labelId is 40
    root = _layout(tmp_path, scenes, label)
    rc, err = _run(capsys, _restorer_argv(tmp_path, root))
    assert rc == 2 and len(err.splitlines()) == 1
    assert "_gtFine_labelIds.png: label ids [40] are outside the configured set" in err
    assert "labels=" in err   # says what to do


def test_mask_of_another_size_than_its_image(tmp_path, scenes, capsys):
    root = _layout(tmp_path, scenes, size=(32, 16))
    rc, err = _run(capsys, _restorer_argv(tmp_path, root))
    assert rc == 2 and len(err.splitlines()) == 1
    assert "_gtFine_labelIds.png: 32x16 mask for a 64x32 image" in err
    assert "must have their image's size" in err


def test_vgg_weights_of_another_network(tmp_path, scenes, capsys):
    wrong = tmp_path / "resnet.pth"
    torch.save({"conv1.weight": torch.zeros(64, 3, 7, 7), "fc.weight": torch.zeros(10, 512)}, wrong)
    rc, err = _run(capsys, ["train-spade", *TINY, f"data.root={scenes}", f"out_dir={tmp_path / 's'}",
                            "steps=1", f"perceptual.vgg19={wrong}"])
    assert rc == 2 and len(err.splitlines()) == 1
    assert f"{wrong}: not torchvision VGG19 weights" in err


class _Boom:
    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_pickled_code_in_a_weights_file_is_refused_not_run(tmp_path, scenes, capsys):
    marker = tmp_path / "executed"
    _Boom.marker = str(marker)
    evil = tmp_path / "vgg19-evil.pth"
    evil.write_bytes(pickle.dumps({"features.0.weight": _Boom()}))
    rc, err = _run(capsys, ["train-spade", *TINY, f"data.root={scenes}", f"out_dir={tmp_path / 's'}",
                            "steps=1", f"perceptual.vgg19={evil}"])
    assert rc == 2 and "nothing was executed" in err and not marker.exists()


def test_a_checkpoint_of_another_kind_as_spade(tmp_path, scenes, segmenter_ckpt, capsys):
    rc, err = _run(capsys, [*_restorer_argv(tmp_path, scenes)[:-2], f"spade={segmenter_ckpt}"])
    assert rc == 2 and "is not a train-spade checkpoint" in err


@pytest.mark.parametrize("override", ["data.size=[30, 64]", "loss.ce=0"])
def test_config_values_that_cannot_work(tmp_path, scenes, capsys, override):
    rc, err = _run(capsys, [*_restorer_argv(tmp_path, scenes), override])
    assert rc == 2 and len(err.splitlines()) == 1
    assert ("multiples of 8" in err) or ("every loss term is off" in err)


def test_images_above_the_pixel_limit_are_not_decoded(tmp_path, scenes, capsys, monkeypatch):
    from training.restoration import data

    monkeypatch.setattr(data, "MAX_PIXELS", 32 * 64 - 1)
    rc, err = _run(capsys, _restorer_argv(tmp_path, scenes))
    assert rc == 2 and len(err.splitlines()) == 1 and "refusing to decode it" in err
