"""train(): run directory, CPU reproducibility, resume after a kill, mode checks."""

import json

import pytest
import torch

import training.dsanet.trainer as trainer
from training.dsanet.config import DSANetTrainConfig
from training.engine.checkpoint import load_state_dicts, read_metadata
from training.engine.config import resolve_config

from .dsanet_helpers import TINY, TinyPairs


def _cfg(out_dir, *extra):
    return resolve_config(DSANetTrainConfig, None, [*TINY, f"out_dir={out_dir}", "batch_size=2", *extra])


def test_run_directory_and_checkpoint(tmp_path):
    step_dir = trainer.train(_cfg(tmp_path / "run", "steps=4", "save_every=2"), TinyPairs())
    assert step_dir.name == "step_00000004"
    specs, meta, step = read_metadata(tmp_path / "run")
    assert step == 4 and meta["task"] == "dsanet" and meta["code_channels"] == 8
    assert meta["clean_rain_code"] == "own"   # derain_code=twin: clean images keep their own code
    assert set(specs) == {"encoder", "generator", "disc_b", "disc_r"}
    assert specs["encoder"].kind == "dsanet_encoder" and specs["encoder"].config["code_channels"] == 8
    saved = (tmp_path / "run" / "config.yaml").read_text()
    assert "code_channels: 8" in saved and "mode: ours" in saved
    rows = [json.loads(ln) for ln in (tmp_path / "run" / "losses.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [2, 4]
    assert {"g/bg", "g/rec", "g/feat", "g/adv_b", "g/adv_r", "d/d_b", "d/d_r"} <= set(rows[0])
    assert any((tmp_path / "run" / "tb").glob("events.out.tfevents.*"))
    with pytest.raises(FileExistsError):   # never silently overwrites a run
        trainer.train(_cfg(tmp_path / "run", "steps=4"), TinyPairs())


def _weights(run):
    return {f"{m}.{k}": v for m, sd in load_state_dicts(run).items() for k, v in sd.items()}


def test_seeded_runs_are_bitwise_identical(tmp_path):
    trainer.train(_cfg(tmp_path / "a", "steps=3", "mode=input1"), TinyPairs())
    trainer.train(_cfg(tmp_path / "b", "steps=3", "mode=input1"), TinyPairs())
    trainer.train(_cfg(tmp_path / "c", "steps=3", "mode=input1", "seed=1"), TinyPairs())
    a, b, c = _weights(tmp_path / "a"), _weights(tmp_path / "b"), _weights(tmp_path / "c")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_killed_run_resumes_to_the_same_weights(tmp_path, monkeypatch):
    full = _cfg(tmp_path / "full", "steps=6", "save_every=2", "loss.gan=lsgan")
    trainer.train(full, TinyPairs())

    # Same run, killed during step 5 (after the step-4 checkpoint), then resumed.
    real_step, calls = trainer.discriminator_losses, {"n": 0}

    def dying(*args, **kw):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt("killed")
        return real_step(*args, **kw)

    monkeypatch.setattr(trainer, "discriminator_losses", dying)
    killed = _cfg(tmp_path / "killed", "steps=6", "save_every=2", "loss.gan=lsgan")
    with pytest.raises(KeyboardInterrupt):
        trainer.train(killed, TinyPairs())
    monkeypatch.setattr(trainer, "discriminator_losses", real_step)
    assert (tmp_path / "killed" / "checkpoints" / "latest").read_text() == "step_00000004"
    resumed = _cfg(tmp_path / "killed", "steps=6", "save_every=2", "loss.gan=lsgan", "resume=true")
    trainer.train(resumed, TinyPairs())

    a, b = _weights(tmp_path / "full"), _weights(tmp_path / "killed")
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a), "resumed weights differ from the uninterrupted run"
    log = [json.loads(ln) for ln in (tmp_path / "killed" / "losses.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [2, 4, 6]
    # time_s carries on from the checkpoint: the training time of all steps, not of the last run
    times = [r["time_s"] for r in log]
    assert times == sorted(times) and times[2] > times[1], times


def test_mode_ours_needs_two_pairs(tmp_path):
    with pytest.raises(ValueError, match="batch_size must be >= 2"):
        trainer.train(_cfg(tmp_path / "x", "steps=1", "batch_size=1"), TinyPairs())


def test_crop_must_be_multiple_of_four(tmp_path):
    with pytest.raises(ValueError, match="multiples of 4"):
        trainer.train(_cfg(tmp_path / "x", "steps=1", "data.crop=[30,32]"), TinyPairs())


def test_amp_flag_is_ignored_on_cpu_and_hinge_runs(tmp_path):
    trainer.train(_cfg(tmp_path / "x", "steps=1", "amp=true", "loss.gan=hinge", "device=cpu"), TinyPairs())
    assert (tmp_path / "x" / "checkpoints" / "latest").exists()


def test_rain_layer_discriminator_and_upsample_options_are_trained_and_saved(tmp_path):
    # loss.layer needs the transfer branch even with loss.transfer=0
    opts = ["loss.adv_layer=0.1", "loss.layer=1.0", "loss.transfer=0", "model.upsample=pixelshuffle",
            "model.shortcut_upsample=features", "model.downsample=2", "save_every=1", "keep=5"]
    trainer.train(_cfg(tmp_path / "run", "steps=2", *opts), TinyPairs())
    specs, _, _ = read_metadata(tmp_path / "run")
    assert set(specs) == {"encoder", "generator", "disc_b", "disc_r", "disc_l"}
    assert specs["generator"].config["upsample"] == "pixelshuffle"
    assert specs["generator"].config["shortcut_upsample"] == "features"
    assert "upsample" not in specs["encoder"].config   # G-only options
    rows = [json.loads(ln) for ln in (tmp_path / "run" / "losses.jsonl").read_text().splitlines()]
    assert {"g/adv_l", "d/d_l", "g/layer"} <= set(rows[-1])
    # D_L is optimised: its weights moved between the step-1 and step-2 checkpoints
    ckpts = tmp_path / "run" / "checkpoints"
    one, two = (load_state_dicts(ckpts / f"step_0000000{i}")["disc_l"] for i in (1, 2))
    assert any(not torch.equal(one[k], two[k]) for k in one if k.endswith("weight"))
    # and a resumed run picks the five networks up again
    trainer.train(_cfg(tmp_path / "run", "steps=3", *opts, "resume=true"), TinyPairs())
    assert read_metadata(tmp_path / "run")[2] == 3


def test_texture_term_alone_synthesises_the_rainified_branch(tmp_path):
    # loss.texture needs G(b ⊕ r') of the partner, which only the cross branch makes: with D_L and
    # the cross term off the trainer must still ask forward_dsanet for it (a KeyError otherwise)
    for output in ("decoded", "residual"):
        run = tmp_path / output
        trainer.train(_cfg(run, "steps=2", "loss.texture=5", f"rainify_output={output}"), TinyPairs())
        rows = [json.loads(ln) for ln in (run / "losses.jsonl").read_text().splitlines()]
        assert "g/texture" in rows[-1] and "g/cross" not in rows[-1] and "g/adv_l" not in rows[-1]
        assert 0 < rows[-1]["g/texture"] < 100


def test_unknown_upsample_option_is_a_config_error():
    with pytest.raises(ValueError, match="model.upsample"):
        resolve_config(DSANetTrainConfig, None, ["model.upsample=bicubic"])


def test_cosine_lr_schedule_sets_each_steps_lr(tmp_path, monkeypatch):
    """lr_schedule=cosine: step k of n runs at lr · (1 + cos(π (k − 1) / n)) / 2, both optimisers."""
    seen = []
    real = trainer._clip_and_step

    def record(opt, scaler, params, max_norm):
        seen.append(opt.param_groups[0]["lr"])
        real(opt, scaler, params, max_norm)

    monkeypatch.setattr(trainer, "_clip_and_step", record)
    cfg = _cfg(tmp_path / "run", "steps=4", "lr_g=1e-3", "lr_d=4e-4", "lr_schedule=cosine")
    trainer.train(cfg, TinyPairs())
    factors = (1.0, 0.5 + 0.5 ** 1.5, 0.5, 0.5 - 0.5 ** 1.5)   # cos(π/4) = 2^-0.5
    expected = [(1e-3 * f, 4e-4 * f) for f in factors]
    assert seen == pytest.approx([lr for pair in expected for lr in pair])
    seen.clear()
    trainer.train(_cfg(tmp_path / "flat", "steps=2", "lr_g=1e-3", "lr_d=4e-4"), TinyPairs())
    assert seen == pytest.approx([1e-3, 4e-4, 1e-3, 4e-4])   # constant, the default
