"""train-condition: checkpoints describe themselves, resume is exact, bad input is one line."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from training.__main__ import main as training_main
from training.condition.config import ConditionSource, TrainConditionConfig
from training.condition.evaluation import load_condition_model
from training.condition.trainer import train
from training.engine import checkpoint as ckpt
from training.engine.checkpoint import ModuleSpec, save_checkpoint


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """Folder-per-condition tree: 4 images, bright clear / streaky rain / dark night / dark streaky."""
    root = tmp_path_factory.mktemp("conditions")
    rng = np.random.default_rng(0)
    for cond, level in (("clear", 180), ("rain", 160), ("night", 30), ("rain+night", 40)):
        img = np.clip(rng.normal(level, 20, (24, 48, 3)), 0, 255).astype(np.uint8)
        (root / cond).mkdir()
        Image.fromarray(img).save(root / cond / "a.png")
    return root


def _cfg(tree, out, steps, resume=False):
    # One batch per epoch (4 images, batch 4) and no random augmentation: a resumed run must
    # repeat the uninterrupted one exactly.
    cfg = TrainConditionConfig(out=str(out), input_size=[16, 32], steps=steps, batch_size=4, num_workers=0,
                               train=[ConditionSource("folders", str(tree))], ckpt_every=1, keep=0,
                               log_every=1, tensorboard=False, device="cpu", resume=resume)
    cfg.model.width, cfg.model.stages, cfg.model.dropout = 4, 2, 0.0
    cfg.augment.hflip_p, cfg.augment.crop_scale, cfg.augment.jitter = 0.0, [1.0, 1.0], 0.0
    return cfg


def test_resume_equals_an_uninterrupted_run(tree, tmp_path):
    straight = train(_cfg(tree, tmp_path / "a", steps=3))
    # a run killed after its step-2 checkpoint: the same run with its last step dir gone
    train(_cfg(tree, tmp_path / "b", steps=3))
    shutil.rmtree(tmp_path / "b" / "checkpoints" / "step_00000003")
    resumed = train(_cfg(tree, tmp_path / "b", steps=3, resume=True))
    assert resumed.name == straight.name == "step_00000003"
    a, b = ckpt.load_state_dicts(straight)["model"], ckpt.load_state_dicts(resumed)["model"]
    first = ckpt.load_state_dicts(tmp_path / "b" / "checkpoints" / "step_00000001")["model"]
    assert any(not torch.equal(first[k], a[k]) for k in a)        # training moved the weights
    for key, value in a.items():
        torch.testing.assert_close(b[key], value, rtol=1e-5, atol=1e-6)

    model, meta = load_condition_model(resumed)
    assert meta["task"] == "condition" and meta["input_size"] == [16, 32]
    assert meta["class_names"] == ["clear", "rain", "night", "rain+night"]
    assert model(torch.zeros(1, 3, 16, 32)).shape == (1, 3)


def test_checkpoint_of_another_kind_is_one_line(tmp_path, capsys, tree):
    seg = tmp_path / "seg"
    save_checkpoint(seg / "checkpoints", 1, {"model": (ModuleSpec("condition_net", {"width": 2, "stages": 1}),
                                                       torch.nn.Conv2d(1, 1, 1))},
                    extra_meta={"task": "segmentation"})
    code = training_main(["evaluate-condition", "--checkpoint", str(seg), "--source", "folders",
                          "--root", str(tree)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    assert "'segmentation' checkpoint, not a condition estimator" in err


def test_unknown_condition_folder_is_one_line(tmp_path, capsys):
    (tmp_path / "data" / "sunny").mkdir(parents=True)
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "data" / "sunny" / "x.png")
    code = training_main(["train-condition", f"out={tmp_path / 'run'}", "steps=1",
                          f"train=[{{source: folders, root: {tmp_path / 'data'}}}]"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and "unknown condition folder(s) ['sunny']" in err
