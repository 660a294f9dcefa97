"""The rain detector tool end to end at micro size, on hand-made images: trained on streak
twins, it calls held-out streak images rainy and a uniform grey veil not rainy."""

import json

import numpy as np
import pytest
import torch

from training.__main__ import main as training_main
from training.engine import checkpoint as ckpt
from training.rain_realism.detector import RainDetector, load_detector

from .handmade import add_block_grid, add_streaks, add_veil, scene, scene_tree, write_png

MICRO = ["steps=150", "crop=32", "batch_size=16", "model.width=8", "model.depth=2", "log_every=50", "lr=3e-3"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One micro detector for the module: 16 training scenes, 6 held out (about 3 s)."""
    tmp = tmp_path_factory.mktemp("detector")
    scene_tree(tmp / "scenes", {"train": 16, "test": 6})
    rc = training_main(["train-rain-detector", f"data.root={tmp / 'scenes'}", f"out_dir={tmp / 'run'}",
                        *MICRO])
    assert rc == 0
    return tmp


def _measure(capsys, *args):
    capsys.readouterr()
    assert training_main(["measure-rain", *map(str, args)]) == 0
    return json.loads(capsys.readouterr().out)


def test_training_reports_held_out_accuracy_in_its_output_and_checkpoint(trained):
    net, meta = load_detector(trained / "run")
    assert isinstance(net, RainDetector) and (net.width, net.depth) == (8, 2)
    held = meta["heldout"]
    assert held["pairs"] == 6 and held["accuracy"] >= 0.9
    assert meta["train_split"] == "train" and meta["eval_split"] == "test"
    assert (trained / "run" / "config.yaml").is_file()


def test_streak_images_score_as_rain_and_a_grey_veil_or_a_block_grid_does_not(trained, capsys):
    rng = np.random.default_rng(123)              # scenes the detector never saw
    for i in range(8):
        clean = scene(rng)
        write_png(trained / "check/clean" / f"img_{i}.png", clean)
        write_png(trained / "check/streaks" / f"img_{i}.png", add_streaks(clean, rng))
        write_png(trained / "check/veil" / f"img_{i}.png", add_veil(clean))
        write_png(trained / "check/grid" / f"img_{i}.png", add_block_grid(clean, rng))
    run, check = trained / "run", trained / "check"
    streaky = _measure(capsys, "--detector", run, "--images", check / "streaks", "--clean", check / "clean")
    veiled = _measure(capsys, "--detector", run, "--images", check / "veil", "--clean", check / "clean")
    gridded = _measure(capsys, "--detector", run, "--images", check / "grid")
    assert streaky["images"] == veiled["images"] == gridded["images"] == 8
    assert streaky["called_rainy"] >= 0.875 and veiled["called_rainy"] <= 0.125
    assert gridded["called_rainy"] <= 0.125
    assert gridded["grid_step_ratio"]["4"] > 1.5 > streaky["grid_step_ratio"]["4"]
    assert streaky["mean_probability"] > veiled["mean_probability"] + 0.5
    # the streak measurements tell the two apart as well: streaks are fine detail, the veil is not
    assert streaky["rain_layer"]["hf_energy"] > 20 * veiled["rain_layer"]["hf_energy"]
    assert streaky["rain_layer"]["coherence"] > veiled["rain_layer"]["coherence"]
    assert streaky["detector_heldout"]["accuracy"] >= 0.9


def test_physical_baseline_is_rendered_next_to_its_clean_names_and_measured(trained, capsys):
    rng = np.random.default_rng(7)
    for i in range(2):
        write_png(trained / "base/clean/sub" / f"b_{i}.png", scene(rng))
    out = _measure(capsys, "--detector", trained / "run", "--baseline", "physical", "--clean",
                   trained / "base/clean", "--out", trained / "base/physical", "--intensity", "1.0")
    assert sorted(p.name for p in (trained / "base/physical/sub").iterdir()) == ["b_0.png", "b_1.png"]
    assert out["images"] == 2 and out["rain_layer"]["mean_abs"] > 0.01
    assert out["source"]["baseline"] == "physical"


def test_a_rainify_output_is_refused_as_training_data(tmp_path, capsys):
    root = scene_tree(tmp_path / "scenes", {"train": 2, "test": 1})
    (root / "rainify_manifest.jsonl").write_text("{}\n")
    rc = training_main(["train-rain-detector", f"data.root={root}", f"out_dir={tmp_path / 'run'}", "steps=1"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "\n" not in err and "rainify_manifest.jsonl" in err and "DSANet output" in err
    assert not (tmp_path / "run").exists()


def test_the_held_out_split_must_differ_from_the_training_split(tmp_path, capsys):
    root = scene_tree(tmp_path / "scenes", {"train": 2})
    rc = training_main(["train-rain-detector", f"data.root={root}", "data.eval_split=train", "steps=1"])
    assert rc == 2 and "data.eval_split" in capsys.readouterr().err


def test_a_checkpoint_of_another_task_or_an_oversized_spec_is_refused(tmp_path):
    net = RainDetector(width=4, depth=1)
    ckpt.save_checkpoint(tmp_path / "other", 1, {"detector": (ckpt.ModuleSpec("rain_detector",
                         {"width": 4, "depth": 1}), net)}, extra_meta={"task": "dsanet"})
    with pytest.raises(ckpt.CheckpointError, match="not a rain detector"):
        load_detector(tmp_path / "other")
    ckpt.save_checkpoint(tmp_path / "huge", 1, {"detector": (ckpt.ModuleSpec("rain_detector",
                         {"width": 10 ** 6, "depth": 1}), net)}, extra_meta={"task": "rain_detector"})
    with pytest.raises(ckpt.CheckpointError, match="width"):
        load_detector(tmp_path / "huge")


def test_a_detector_file_larger_than_the_bound_is_refused_before_reading(tmp_path, monkeypatch):
    from training.rain_realism import detector

    detector.save_detector(tmp_path / "run", RainDetector(width=4, depth=1), 1, {})
    monkeypatch.setattr(detector, "MAX_FILE_BYTES", 100)
    monkeypatch.setattr(ckpt, "load_state_dicts", lambda *a: pytest.fail("tensors were read"))
    with pytest.raises(ckpt.CheckpointError, match="too large for a rain detector"):
        load_detector(tmp_path / "run")


def test_the_detector_scores_any_image_size():
    net = RainDetector(width=4, depth=3)
    for h, w in ((8, 8), (37, 53), (64, 128)):
        assert net(torch.rand(2, 3, h, w)).shape == (2,)


def test_reference_comparison_and_a_bad_reference_file(trained, capsys):
    rng = np.random.default_rng(9)
    for i in range(3):
        clean = scene(rng)
        write_png(trained / "ref/clean" / f"r_{i}.png", clean)
        write_png(trained / "ref/rain" / f"r_{i}.png", add_streaks(clean, rng))
    args = ["--detector", trained / "run", "--images", trained / "ref/rain", "--clean", trained / "ref/clean"]
    first = _measure(capsys, *args)
    (trained / "ref/real.json").write_text(json.dumps(first))
    again = _measure(capsys, *args, "--reference", trained / "ref/real.json")
    assert again["vs_reference"]["hf_energy_ratio"] == pytest.approx(1.0)
    assert again["vs_reference"]["within_25_percent"] is True
    (trained / "ref/bad.json").write_text(json.dumps({"images": 3}))
    rc = training_main(["measure-rain", *map(str, args), "--reference", str(trained / "ref/bad.json")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "\n" not in err and "bad.json" in err and "rain_layer" in err
    (trained / "ref/deep.json").write_text("[" * 100_000 + "]" * 100_000)
    rc = training_main(["measure-rain", *map(str, args), "--reference", str(trained / "ref/deep.json")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "\n" not in err and "deep.json" in err
