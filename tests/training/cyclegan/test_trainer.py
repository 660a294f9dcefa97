"""CycleGAN training end to end at toy size: exact resume, and `translate` (layout, labels,
manifest, resume, count, refusing a checkpoint of another kind)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from training.cyclegan.trainer import train
from training.cyclegan.translate import MANIFEST, load_translator, translate_dataset
from training.engine import checkpoint as ckpt
from training.engine.checkpoint import CheckpointError
from training.models import build_model

from .helpers import tiny_config, write_twin_scenes


@pytest.fixture(scope="module")
def scenes(tmp_path_factory) -> Path:
    return write_twin_scenes(tmp_path_factory.mktemp("scenes"), count=8, size=(24, 32))


@pytest.fixture(scope="module")
def straight(scenes, tmp_path_factory) -> Path:
    """4 uninterrupted steps (checkpoints at 2 and 4)."""
    return train(tiny_config(scenes, tmp_path_factory.mktemp("straight")))


class Killed(Exception):
    pass


def test_resume_continues_exactly(scenes, straight, tmp_path, monkeypatch):
    import training.cyclegan.trainer as trainer

    save = trainer._save

    def save_then_die(*args, **kwargs):   # the process dies right after the step-2 checkpoint
        save(*args, **kwargs)
        raise Killed

    monkeypatch.setattr(trainer, "_save", save_then_die)
    with pytest.raises(Killed):
        train(tiny_config(scenes, tmp_path / "cut"))
    monkeypatch.setattr(trainer, "_save", save)
    # 2 -> 4 with weights, optimisers, scalers and pools restored
    resumed = train(tiny_config(scenes, tmp_path / "cut", resume=True))
    a, b = ckpt.load_state_dicts(straight), ckpt.load_state_dicts(resumed)
    assert a.keys() == b.keys() == {"gen_g", "gen_f", "disc_day", "disc_night"}
    for module in a:
        for key in a[module]:
            torch.testing.assert_close(a[module][key], b[module][key], rtol=0, atol=1e-6,
                                       msg=f"{module}.{key}")
    losses = [json.loads(line) for line in (tmp_path / "cut" / "losses.jsonl").read_text().splitlines()]
    assert [r["step"] for r in losses] == [1, 2, 3, 4]


def test_a_second_run_into_the_same_dir_is_refused(scenes, straight):
    with pytest.raises(FileExistsError, match="resume=true"):
        train(tiny_config(scenes, straight.parent.parent))


def test_translate_layout_labels_manifest_and_resume(scenes, straight, tmp_path):
    gen = load_translator(straight, "day2night")
    out = tmp_path / "night"
    first = translate_dataset(gen, scenes / "cityscapes", out, count=3, seed=1, progress=False)
    assert first["translated"] == 3
    src_images = sorted((scenes / "cityscapes" / "leftImg8bit").rglob("*.png"))
    done = sorted((out / "leftImg8bit").rglob("*.png"))
    assert len(done) == 3 and {p.name for p in done} <= {p.name for p in src_images}
    for label in (scenes / "cityscapes" / "gtFine").rglob("*.png"):   # labels copied byte for byte
        assert (out / label.relative_to(scenes / "cityscapes")).read_bytes() == label.read_bytes()
    manifest = [json.loads(line) for line in (out / MANIFEST).read_text().splitlines()]
    assert sorted(m["output"] for m in manifest) == sorted(p.relative_to(out).as_posix() for p in done)
    assert all(m["source"] == m["output"] and m["direction"] == "day2night" for m in manifest)
    # the output is G applied to the source image, at the source size
    from training.dsanet.io import read_image

    rel = manifest[0]["source"]
    expected = gen(read_image(scenes / "cityscapes" / rel)[None])[0]
    assert (read_image(out / rel) - expected).abs().max() <= 1 / 255 + 1e-6
    # resume after a kill: a deleted output is redone, the others skipped, the manifest line
    # cut mid-write is dropped and rewritten, nothing is duplicated
    done[0].unlink()
    lines = (out / MANIFEST).read_text().splitlines()
    (out / MANIFEST).write_text("\n".join(lines[:2]) + "\n" + lines[2][:25])
    again = translate_dataset(gen, scenes / "cityscapes", out, count=3, seed=1, progress=False)
    assert (again["translated"], again["skipped"]) == (1, 2)
    rewritten = [json.loads(line) for line in (out / MANIFEST).read_text().splitlines()]
    assert sorted(m["output"] for m in rewritten) == sorted(m["output"] for m in manifest)


def test_translate_refuses_a_checkpoint_of_another_kind(tmp_path):
    spec = ckpt.ModuleSpec("patch_discriminator", {"base_channels": 4, "num_layers": 1})
    disc = build_model(spec.kind, spec.config)
    other = ckpt.save_checkpoint(tmp_path, 1, {"model": (spec, disc)}, extra_meta={"task": "segmentation"})
    with pytest.raises(CheckpointError, match="'segmentation' checkpoint, not a CycleGAN one"):
        load_translator(other, "night2day")


def test_translate_command_errors_are_one_line(tmp_path, straight, capsys):
    from training.__main__ import main

    assert main(["translate", "--cyclegan", str(tmp_path / "missing"), "--direction", "night2day",
                 "--images", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: no checkpoint found at") and "\n" not in err
    (tmp_path / "in" / "images").mkdir(parents=True)
    assert main(["translate", "--cyclegan", str(straight), "--direction", "night2day",
                 "--images", str(tmp_path / "in"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert "no images under" in err and "\n" not in err


def test_cycle_psnr_matches_the_formula(scenes, straight, tmp_path):
    from training.cyclegan.evaluate import cycle_psnr, save_translation_grid
    from training.dsanet.io import read_image

    day = sorted((scenes / "cityscapes" / "leftImg8bit").rglob("*.png"))[:2]
    night = sorted((scenes / "cityscapes_night" / "leftImg8bit").rglob("*.png"))[-1:]
    g, f = load_translator(straight, "day2night"), load_translator(straight, "night2day")
    mse = [float(((f(g(read_image(p)[None])) - read_image(p)[None]) * 255).pow(2).mean()) for p in day]
    expected = sum(10 * math.log10(255 ** 2 / m) for m in mse) / len(mse)
    scores = cycle_psnr(straight, day, night)
    assert scores["day"] == pytest.approx(expected, abs=1e-3) and scores["day_images"] == 2
    grid = read_image(save_translation_grid(straight, day[:1], night, tmp_path / "grid.png"))
    assert grid.shape == (3, 6 * (24 + 2) + 2, 32 + 4)   # 6 rows of one 24x32 image, 2 px padding
