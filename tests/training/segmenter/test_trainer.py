"""train-segmenter: learns a tiny scene, checkpoints with the COMMON metadata, resumes."""

from __future__ import annotations

import json

import torch

from training.__main__ import main as training_main
from training.engine import checkpoint as ckpt

ERF_TINY = ["model.kind=erf_pspnet", "model.kwargs={channels: [8, 16, 32], head_channels: 16}"]


def _args(root, out, *extra):
    return ["train-segmenter", f"out={out}", f"train=[{{root: {root}, split: train}}]",
            f"val=[{{root: {root}, split: val}}]", "augment.crop_size=[32, 64]",
            "augment.scale_range=[1.0, 1.0]",
            "batch_size=4", "num_workers=0", "log_every=5", "tensorboard=false", "optimizer=adamw",
            "lr=0.01", "head_lr_mult=1.0", "weight_decay=0.0", *ERF_TINY, *extra]


def test_trains_checkpoints_and_learns(tiny_cityscapes, tmp_path):
    out = tmp_path / "run"
    config = tmp_path / "erf.yaml"  # --config first, key=value overrides after it
    config.write_text("model: {kind: erf_pspnet}\nsteps: 7\n")
    argv = _args(tiny_cityscapes, out, "steps=40", "val_every=40", "ckpt_every=20")
    assert training_main([argv[0], "--config", str(config), *argv[1:]]) == 0
    specs, meta, step = ckpt.read_metadata(out)
    assert step == 40 and specs["model"].kind == "erf_pspnet"
    assert specs["model"].config["num_classes"] == 19
    assert meta["task"] == "segmentation" and meta["num_classes"] == 19
    assert meta["class_names"][10] == "sky" and meta["ignore_index"] == 255
    assert meta["input_size"] == [32, 64] and len(meta["mean"]) == 3
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in records if "loss" in r]
    val = [r["val"] for r in records if "val" in r]
    assert losses[-1] < 0.5 * losses[0]
    # Three flat colour classes: a trained model must separate them (chance would be ~1/19).
    assert val[-1]["aAcc"] > 85.0
    model = ckpt.load_modules(out, ["model"])["model"]
    assert sum(p.numel() for p in model.parameters()) > 0


def test_resume_continues_from_last_checkpoint(tiny_cityscapes, tmp_path):
    out = tmp_path / "run"
    assert training_main(_args(tiny_cityscapes, out, "steps=10", "ckpt_every=5", "val_every=100")) == 0
    first = ckpt.load_state_dicts(out)["model"]
    # A longer run resumed from step 10 starts from the saved weights and optimiser state.
    assert training_main(_args(tiny_cityscapes, out, "steps=15", "ckpt_every=5", "val_every=100",
                               "resume=true")) == 0
    _, _, step = ckpt.read_metadata(out)
    assert step == 15
    state = ckpt.load_train_state(out / "checkpoints" / "step_00000015")
    assert state["step"] == 15
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "loss" in r] == [5, 10, 15]
    resumed = ckpt.load_state_dicts(out / "checkpoints" / "step_00000010")["model"]
    for key, value in first.items():
        assert torch.equal(resumed[key], value)


def test_bad_config_is_a_clear_error(tiny_cityscapes, tmp_path, capsys):
    for bad, says in (("optimizer=rmsprop", "config.optimizer: 'rmsprop' is not one of"),
                      ("class_weights=[1.0, 2.0]", "class_weights has 2 values")):
        assert training_main(_args(tiny_cityscapes, tmp_path / "r", bad)) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and says in err and err.count("\n") == 1, err
