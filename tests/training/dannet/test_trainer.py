"""train-dannet on tiny procedural twins: checkpoint contract, switches, resume, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from training.commands.train_dannet import main as train_dannet_main
from training.dannet.config import TrainDANNetConfig
from training.dannet.reweight import class_weights_from_shares
from training.dannet.trainer import train
from training.engine import checkpoint as ckpt
from training.engine.config import resolve_config

from .conftest import SYNTH_CONFIG, tiny_overrides


def _run(scenes: Path, out: Path, *extra: str) -> Path:
    return train(resolve_config(TrainDANNetConfig, SYNTH_CONFIG, tiny_overrides(scenes, out, *extra)))


def test_checkpoint_is_a_segmenter_with_source_weights(night_scenes: Path, tmp_path: Path):
    from training.segmenter.config import DataSource
    from training.segmenter.data import open_dataset
    from training.segmenter.evaluation import evaluate_checkpoint

    step_dir = _run(night_scenes, tmp_path / "run")
    specs, meta, step = ckpt.read_metadata(step_dir)
    assert step == 4 and meta["task"] == "segmentation" and meta["method"] == "dannet"
    assert specs["model"].kind == "dannet_segmenter" and set(specs) == {"model", "disc_d", "disc_n"}
    # shares counted here from the train-id PNGs, independently of the trainer
    counts = np.zeros(19)
    for png in (night_scenes / "cityscapes/gtFine/train").rglob("*_labelTrainIds.png"):
        ids = np.asarray(Image.open(png)).ravel()
        counts += np.bincount(ids[ids != 255], minlength=19)[:19]
    np.testing.assert_allclose(meta["class_shares"], counts / counts.sum(), rtol=1e-9)
    assert meta["class_weights"] == pytest.approx(class_weights_from_shares(counts / counts.sum()))
    assert specs["model"].config["class_weights"] == meta["class_weights"]
    # evaluate takes it like any segmenter
    night_test = open_dataset(DataSource(root=str(night_scenes), split="test", kwargs={"variant": "night"}))
    scores = evaluate_checkpoint(step_dir, night_test)
    assert 0.0 <= scores["mIoU"] <= 100.0
    logged = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert {"g/seg", "g/light", "g/static", "g/adv", "d/total"} <= set(logged[-1])


def test_switched_off_losses_do_not_train_their_networks(night_scenes: Path, tmp_path: Path):
    step_dir = _run(night_scenes, tmp_path / "run", "loss.adv=0", "loss.static=0")
    from training.dannet.trainer import module_specs
    from training.models import build_model

    trained = ckpt.load_state_dicts(step_dir)
    cfg = resolve_config(TrainDANNetConfig, SYNTH_CONFIG, tiny_overrides(night_scenes, tmp_path / "x"))
    specs = module_specs(cfg, [1.0] * 19)
    torch.manual_seed(0)   # the trainer seeds with seed=0, then builds model, disc_d, disc_n
    initial = {n: build_model(s.kind, s.config).state_dict() for n, s in specs.items()}
    for name in ("disc_d", "disc_n"):
        for key, value in initial[name].items():
            assert torch.equal(trained[name][key], value), f"{name}.{key} changed with loss.adv=0"
    logged = json.loads((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()[-1])
    assert "g/adv" not in logged and "g/static" not in logged and "d/total" not in logged


def test_source_only_row_has_no_relight(night_scenes: Path, tmp_path: Path):
    step_dir = _run(night_scenes, tmp_path / "run", "relight.enabled=false", "loss.light=0",
                    "loss.static=0", "loss.adv=0")
    specs, meta, _ = ckpt.read_metadata(step_dir)
    assert specs["model"].config["relight_kwargs"] is None and meta["relight"] is False


def test_resume_continues_from_the_last_checkpoint(night_scenes: Path, tmp_path: Path):
    out = tmp_path / "run"
    _run(night_scenes, out)
    root = out / "checkpoints"
    # simulate a kill after step 2: step 4 never made it to disk
    import shutil

    shutil.rmtree(root / "step_00000004")
    (root / "latest").write_text("step_00000002")
    saved = ckpt.load_state_dicts(root / "step_00000002")
    with pytest.raises(FileExistsError):
        _run(night_scenes, out)
    step_dir = _run(night_scenes, out, "resume=true")
    assert step_dir.name == "step_00000004"
    state = ckpt.load_train_state(step_dir)
    # AdamW counts its updates: 4 only if the optimiser state of step 2 was restored
    adam_steps = {float(s["step"]) for s in state["opt_g"]["state"].values()}
    assert adam_steps == {4.0} and state["step"] == 4
    assert not torch.equal(ckpt.load_state_dicts(step_dir)["model"]["segmenter.classifier.weight"],
                           saved["model"]["segmenter.classifier.weight"])
    steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4]


def _error_line(capsys, argv: list[str]) -> str:
    assert train_dannet_main(["--config", SYNTH_CONFIG, *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("error: ") and "Traceback" not in err
    return err


def test_bad_input_is_one_line(night_scenes: Path, tmp_path: Path, capsys):
    day_only = tmp_path / "day_only"
    day_only.mkdir()
    (day_only / "cityscapes").symlink_to(night_scenes / "cityscapes")
    err = _error_line(capsys, tiny_overrides(day_only, tmp_path / "a"))
    assert "target.night" in err and "--night" in err

    err = _error_line(capsys, tiny_overrides(night_scenes, tmp_path / "b", "target.day.split=val"))
    assert "2 day images" in err and "8 night images" in err and "pairing" in err

    names = "[road, sidewalk, building, wall, fence]"
    err = _error_line(capsys, tiny_overrides(night_scenes, tmp_path / "c", "num_classes=5",
                                             f"class_names={names}", "static_classes=[0, 1]"))
    assert "source" in err and "num_classes=5" in err

    # pretrained weights load as for train-segmenter: a missing init_from file is reported
    argv = [f"source.root={night_scenes}", f"target.day.root={night_scenes}",
            f"target.night.root={night_scenes}", "target.day.kwargs={variant: clean}",
            "target.night.kwargs={variant: night}", f"out={tmp_path / 'd'}",
            "augment.crop_size=[32, 64]", "batch_size=2", "model.kind=deeplabv3",
            f"model.kwargs={{init_from: {tmp_path / 'missing.pth'}}}"]
    assert train_dannet_main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "init_from" in err and "missing.pth" in err

    with pytest.raises(ValueError):   # --debug shows the traceback instead
        train_dannet_main(["--config", SYNTH_CONFIG, "--debug",
                           *tiny_overrides(night_scenes, tmp_path / "b", "target.day.split=val")])
