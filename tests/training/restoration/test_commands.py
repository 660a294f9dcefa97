"""The four commands end to end at toy size: train-spade (with resume), train-mask-restorer,
evaluate-mask-restorer, restore-masks (layout, manifest, resumable); the experiment at micro size."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from PIL import Image

from tests.training.restoration.conftest import TINY, TINY_D
from training.__main__ import main as training_main
from training.data import build_dataset
from training.engine import checkpoint as ckpt
from training.restoration.data import find_items, read_mask
from training.restoration.incomplete import coarse_mask


def _coarse_root(scenes: Path, out: Path) -> Path:
    """gtCoarse labelIds (gaps = 0) of the train split, next to links to the scene images."""
    out.mkdir(parents=True)
    os.symlink(scenes / "cityscapes" / "leftImg8bit", out / "leftImg8bit")
    for item in find_items(scenes, "train"):
        coarse = coarse_mask(read_mask(item, "label_ids"), erode_px=1, min_area=4, drop_p=0.2,
                             rng=np.random.default_rng(0))
        coarse[coarse == 255] = 0
        path = out / "gtCoarse" / "train" / "synth" / f"{item.name}_gtCoarse_labelIds.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(coarse).save(path)
    return out


def test_train_evaluate_restore(tmp_path, scenes, segmenter_ckpt, capsys):
    spade = tmp_path / "spade"
    base = [*TINY, f"data.root={scenes}", f"perceptual.segmenter={segmenter_ckpt}"]
    assert training_main(["train-spade", *base, *TINY_D, f"out_dir={spade}", "steps=1"]) == 0
    assert training_main(["train-spade", *base, *TINY_D, f"out_dir={spade}", "steps=2", "resume=true"]) == 0
    assert ckpt.read_metadata(spade)[2] == 2
    records = [json.loads(x) for x in (spade / "losses.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2] and all(r["g/feat"] > 0 and r["g/vgg"] > 0 for r in records)

    restorer = tmp_path / "restorer"
    assert training_main(["train-mask-restorer", *base, f"out_dir={restorer}", f"spade={spade}",
                          "task=sparse", "steps=2"]) == 0
    capsys.readouterr()
    report = tmp_path / "eval.json"
    assert training_main(["evaluate-mask-restorer", "--restorer", str(restorer), "--data", str(scenes),
                          "--segmenter", str(segmenter_ckpt), "--out", str(report)]) == 0
    result = json.loads(report.read_text())
    assert result["features"] == "segmenter" and result["images"] == 2
    assert set(result["rows"]) == {"fine", "incomplete", "restored"}
    for row in ("incomplete", "restored"):
        assert 0 <= result["rows"][row]["pixel_acc"] <= 100 and result["rows"][row]["FID"] >= 0
    assert result["rows"]["fine"]["pixel_acc"] is None and result["rows"]["fine"]["FCN_mIoU"] is not None

    coarse = _coarse_root(scenes, tmp_path / "coarse")
    out = tmp_path / "restored"
    argv = ["restore-masks", "--restorer", str(restorer), "--labels", str(coarse), "--out", str(out)]
    assert training_main(argv) == 0
    first = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert first["restored"] == 4 and first["skipped"] == 0
    manifest = [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()]
    assert len(manifest) == 4 and all(0 < m["known_fraction"] < 1 for m in manifest)
    victim = out / manifest[0]["out"]
    victim.unlink()   # a run killed before this file: only it is redone
    (out / "manifest.jsonl").write_text("".join(json.dumps(m) + "\n" for m in manifest[1:]))
    assert training_main(argv) == 0
    again = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert again == {"restored": 1, "skipped": 3, "manifest": str(out / "manifest.jsonl")}
    # OUT reads as a Cityscapes root whose labelIds and trainIds files agree.
    ds = build_dataset("cityscapes", out, "train")
    sample = ds[0]
    train_ids = np.asarray(Image.open(str(victim).replace("_labelIds", "_labelTrainIds")))
    assert sample["mask"].shape == (32, 64) and train_ids.shape == (32, 64)


def test_experiment_at_micro_size(tmp_path, scenes):
    from training.engine.config import resolve_config
    from training.restoration.ablation import run_mask_restoration
    from training.restoration.ablation_config import MaskRestorationExperimentConfig

    tiny_g = ["generator.base_channels=4", "generator.hidden=8", "batch_size=2", "steps=1",
              "data.num_workers=0", "log_every=1", "image_every=1"]
    cfg = resolve_config(MaskRestorationExperimentConfig,
                         "config/training/experiment-mask-restoration_synth-32x64.yaml", [
        f"out={tmp_path / 'exp'}", f"scenes.root={scenes}", "seeds=[0, 1]", "tasks=[sparse]",
        "rows=[CE, CE+VGG+L1]", "segmenter.steps=1", "segmenter_batch_size=2",
        "segmenter.model.kwargs={channels: [8, 16, 24], head_channels: 8}",
        f"spade_overrides={json.dumps([*tiny_g, *TINY_D])}",
        f"restorer_overrides={json.dumps(tiny_g)}"])
    summary = run_mask_restoration(cfg)
    table = summary["tables"]["sparse"]
    assert list(table) == ["fine", "none", "CE", "CE+VGG+L1"] and all(len(v) == 2 for v in table.values())
    assert set(summary["closed_loop"]) == {"fine", "raw_coarse", "restored_coarse"}
    md = (tmp_path / "exp" / "results.md").read_text()
    assert "| none (no restoration) |" in md and " ± " in md and "| restored_coarse |" in md
    with Image.open(tmp_path / "exp" / "grid_sparse.png") as grid:
        # image | fine | incomplete | restored | synthesised; one row per val image (2)
        assert grid.size == (5 * 64, 2 * 32)
    with Image.open(tmp_path / "exp" / "curves.png") as curves:   # SPADE + one panel per task
        assert curves.size[0] > 2 * curves.size[1]
    # a rerun finds every stage done
    again = run_mask_restoration(cfg)
    assert again["tables"] == json.loads(json.dumps(summary["tables"]))


def test_restore_masks_from_x8_low_resolution_files(tmp_path, scenes, capsys):
    restorer = tmp_path / "sr8"
    assert training_main(["train-mask-restorer", *TINY, f"data.root={scenes}", f"out_dir={restorer}",
                          "task=sr8", "steps=1", "loss.vgg=0", "loss.l1=0"]) == 0
    root = tmp_path / "lowres"
    root.mkdir()
    os.symlink(scenes / "cityscapes" / "leftImg8bit", root / "leftImg8bit")
    items = find_items(scenes, "train")
    for item in items:
        small = read_mask(item, "label_ids")[4::8, 4::8]                      # (4, 8): 1/8 of 32x64
        path = root / "gtLowres" / "train" / "synth" / f"{item.name}_gtLowres_labelIds.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(small).save(path)
    out = tmp_path / "out"
    argv = ["restore-masks", "--restorer", str(restorer), "--labels", str(root), "--labels-dir", "gtLowres",
            "--out", str(out)]
    assert training_main(argv) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["restored"] == len(items)
    with Image.open(out / "gtFine" / "train" / "synth" / f"{items[0].name}_gtFine_labelIds.png") as img:
        assert img.size == (64, 32)
    # a label file that is neither the image's size nor 1/8 of it: one line, names the file
    bad = root / "gtLowres" / "train" / "synth" / f"{items[0].name}_gtLowres_labelIds.png"
    Image.fromarray(np.zeros((5, 8), np.uint8)).save(bad)
    assert training_main([*argv[:-1], str(tmp_path / "out2")]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error")]
    assert len(errors) == 1 and errors[0].startswith(f"error: {bad}: 8x5 mask for a 64x32 image")
    assert errors[0].endswith("or 1/8 of it")
