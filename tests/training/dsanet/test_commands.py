"""rainify / derain commands on tiny generated trees with a random-weight checkpoint."""

import json

import numpy as np
import pytest
from PIL import Image

from training.commands import derain as derain_cmd
from training.commands import rainify as rainify_cmd

from .dsanet_helpers import tiny_checkpoint, write_png

STEMS = ["synth_000000_000000", "synth_000000_000001", "synth_000001_000000"]


@pytest.fixture
def tree(tmp_path):
    """A Cityscapes-layout root (36x52 images: not multiples of 4) and 3 rainy references."""
    rng = np.random.default_rng(0)
    root = tmp_path / "cityscapes"
    for stem in STEMS:
        city = "train/synth"
        write_png(root / "leftImg8bit" / city / f"{stem}_leftImg8bit.png", rng.integers(0, 256, (36, 52, 3)))
        write_png(root / "gtFine" / city / f"{stem}_gtFine_labelTrainIds.png", rng.integers(0, 19, (36, 52)))
    for k in range(3):
        write_png(tmp_path / "refs" / f"rain-{k}.png", rng.integers(0, 256, (40, 40, 3)))
    tiny_checkpoint(tmp_path / "ck")
    return tmp_path


def _rainify(tree, *extra):
    return rainify_cmd.main(["--dsanet", str(tree / "ck"), "--images", str(tree / "cityscapes"),
                             "--rain-refs", str(tree / "refs"), "--out", str(tree / "out"),
                             "--styles", "2", "--intensity", "0.3,0.6", "--seed", "5", *extra])


def _manifest(out):
    return [json.loads(ln) for ln in (out / "rainify_manifest.jsonl").read_text().splitlines()]


def test_rainify_keeps_layout_copies_labels_and_records_choices(tree):
    assert _rainify(tree) == 0
    out = tree / "out"
    for stem in STEMS:
        img = out / "leftImg8bit/train/synth" / f"{stem}_leftImg8bit.png"
        assert Image.open(img).size == (52, 36)
        label = f"gtFine/train/synth/{stem}_gtFine_labelTrainIds.png"
        assert (out / label).read_bytes() == (tree / "cityscapes" / label).read_bytes()
    rows = _manifest(out)
    assert sorted(r["source"] for r in rows) == sorted(f"leftImg8bit/train/synth/{s}_leftImg8bit.png"
                                                        for s in STEMS)
    assert all(0.3 <= r["intensity"] <= 0.6 for r in rows)
    assert all(r["rain_ref"] in {"rain-0.png", "rain-1.png", "rain-2.png"} for r in rows)
    assert len({r["rain_ref"] for r in rows}) <= 2   # --styles 2
    assert (out / "rain_bank.safetensors").is_file()


def test_rainify_resumes_without_redoing_finished_files(tree):
    _rainify(tree)
    out = tree / "out"
    first = out / "leftImg8bit/train/synth" / f"{STEMS[0]}_leftImg8bit.png"
    second = out / "leftImg8bit/train/synth" / f"{STEMS[1]}_leftImg8bit.png"
    kept_bytes, kept_mtime = second.read_bytes(), second.stat().st_mtime_ns
    lost_bytes = first.read_bytes()
    # an interrupted run: one output never written, its manifest line missing
    first.unlink()
    rows = [r for r in _manifest(out) if r["output"] != f"leftImg8bit/train/synth/{STEMS[0]}_leftImg8bit.png"]
    (out / "rainify_manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    _rainify(tree)
    assert second.stat().st_mtime_ns == kept_mtime and second.read_bytes() == kept_bytes
    assert first.read_bytes() == lost_bytes           # same seed, same style and intensity
    assert len(_manifest(out)) == len(STEMS)          # no duplicate lines


def test_rainify_rejects_unknown_layout(tree):
    with pytest.raises(ValueError, match="unknown layout"):
        rainify_cmd.main(["--dsanet", str(tree / "ck"), "--images", str(tree / "refs"),
                          "--rain-refs", str(tree / "refs"), "--out", str(tree / "o2")])


def test_derain_folder(tree):
    src = tree / "cityscapes/leftImg8bit"
    assert derain_cmd.main(["--dsanet", str(tree / "ck"), "--in", str(src), "--out", str(tree / "der")]) == 0
    outs = sorted(p.relative_to(tree / "der") for p in (tree / "der").rglob("*.png"))
    assert outs == sorted(p.relative_to(src) for p in src.rglob("*.png"))
    assert Image.open(tree / "der" / outs[0]).size == (52, 36)


def test_rainify_residual_output_at_zero_intensity_is_the_input(tree, capsys):
    """--output residual: the input plus the rain code's change; at t = 0 that is the input, byte
    for byte (the decoded default redraws it through G)."""
    assert rainify_cmd.main(["--dsanet", str(tree / "ck"), "--images", str(tree / "cityscapes"),
                             "--rain-refs", str(tree / "refs"), "--out", str(tree / "out"),
                             "--intensity", "0", "--output", "residual"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["output"] == "residual"
    for stem in STEMS:
        rel = f"leftImg8bit/train/synth/{stem}_leftImg8bit.png"
        np.testing.assert_array_equal(np.asarray(Image.open(tree / "out" / rel)),
                                      np.asarray(Image.open(tree / "cityscapes" / rel)))
