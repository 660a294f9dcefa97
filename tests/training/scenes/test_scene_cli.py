"""`python -m training generate-scenes`: layout on disk, label tables, determinism, error paths."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from cityscapesscripts.helpers.labels import id2label, trainId2label

from training.commands.generate_scenes import main
from training.scenes.sample import SceneSpec, generate_sample

ARGS = [
    "--count",
    "5",
    "--size",
    "64x128",
    "--splits",
    "train=3,val=1,test=1",
    "--rain-intensity",
    "0.3,0.9",
    "--night",
    "--quiet",
]


def _run(out: Path, *extra: str) -> None:
    assert main(["--out", str(out), *ARGS, *extra]) == 0


def _hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _read(path: Path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert img is not None, path
    return img[..., ::-1] if img.ndim == 3 else img


@pytest.fixture(scope="module")
def run_a(tmp_path_factory):
    out = tmp_path_factory.mktemp("scenes_a")
    _run(out, "--seed", "7")
    return out


def test_layout_is_exactly_the_shared_one(run_a):
    expected = {"manifest.jsonl"}
    splits = {"train": [0, 1, 2], "val": [3], "test": [4]}
    for split, indices in splits.items():
        for k, i in enumerate(indices, start=1):
            stem = f"synth_000000_{i:06d}"
            for root in ("cityscapes", "cityscapes_rain", "cityscapes_night"):
                expected |= {
                    f"{root}/leftImg8bit/{split}/synth/{stem}_leftImg8bit.png",
                    f"{root}/gtFine/{split}/synth/{stem}_gtFine_labelIds.png",
                    f"{root}/gtFine/{split}/synth/{stem}_gtFine_labelTrainIds.png",
                }
            expected |= {
                f"depth/{split}/synth/{stem}_depth.png",
                f"rain_pairs/{split}/rain/rain-{k}.png",
                f"rain_pairs/{split}/norain/norain-{k}.png",
            }
    assert set(_hashes(run_a)) == expected


def test_label_ids_follow_cityscapesscripts_table(run_a):
    for path in run_a.glob("cityscapes/gtFine/*/synth/*_gtFine_labelTrainIds.png"):
        train = _read(path)
        ids = _read(Path(str(path).replace("_labelTrainIds", "_labelIds")))
        assert train.dtype == np.uint8 and train.shape == (64, 128)
        assert set(np.unique(train).tolist()) <= set(range(19)) | {255}
        for t in np.unique(train):
            want = 0 if t == 255 else trainId2label[int(t)].id  # ignore -> "unlabeled"
            assert np.all(ids[train == t] == want)
        back = np.vectorize(lambda i: id2label[int(i)].trainId)(ids)
        assert np.array_equal(back, train)


def test_twins_share_labels_and_pairs_match_twins(run_a):
    for rec in map(json.loads, (run_a / "manifest.jsonl").read_text().splitlines()):
        f = rec["files"]
        for kind in ("labelIds", "labelTrainIds"):
            ref = (run_a / f[f"clean_{kind}"]).read_bytes()
            assert (run_a / f[f"rain_{kind}"]).read_bytes() == ref
            assert (run_a / f[f"night_{kind}"]).read_bytes() == ref
        clean, rain = _read(run_a / f["clean"]), _read(run_a / f["rain"])
        assert np.array_equal(_read(run_a / f["pair_norain"]), clean)
        assert np.array_equal(_read(run_a / f["pair_rain"]), rain)
        assert not np.array_equal(clean, rain)
        assert _read(run_a / f["night"]).mean() < clean.mean()


def test_manifest_regenerates_any_sample_alone(run_a):
    records = [json.loads(line) for line in (run_a / "manifest.jsonl").read_text().splitlines()]
    assert [r["index"] for r in records] == list(range(5))
    rec = records[3]
    assert rec["split"] == "val" and rec["seed"] == 7 and rec["night"] is True
    assert 0.3 <= rec["rain_intensity"] <= 0.9
    s = generate_sample(7, 3, SceneSpec(64, 128, rain_range=(0.3, 0.9), night=True))
    assert s.rain_intensity == rec["rain_intensity"]
    assert np.array_equal(_read(run_a / rec["files"]["rain"]), s.rain)
    depth = _read(run_a / rec["files"]["depth"])
    assert depth.dtype == np.uint16
    assert np.array_equal(depth, np.clip(np.round(s.depth * 100), 0, 65535).astype(np.uint16))


def test_same_seed_same_bytes_other_seed_other_bytes(run_a, tmp_path):
    _run(tmp_path / "b", "--seed", "7", "--workers", "2")
    _run(tmp_path / "c", "--seed", "8")
    a, b, c = _hashes(run_a), _hashes(tmp_path / "b"), _hashes(tmp_path / "c")
    assert a == b
    images = [k for k in a if k.endswith("_leftImg8bit.png")]
    assert all(a[k] != c[k] for k in images)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--size", "256"], "HxW"),
        (["--size", "axb"], "HxW"),
        (["--count", "0"], "--count"),
        (["--rain-intensity", "1.5"], "rain intensity"),
        (["--rain-intensity", "0.9,0.2"], "LO <= HI"),
        (["--splits", "train=0.5,val=0.1"], "--splits"),
        (["--splits", "train=0.8,dev=0.2"], "NAME"),
        (["--workers", "0"], "--workers"),
    ],
)
def test_bad_flags_fail_clearly(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as exc:
        main(["--out", str(tmp_path / "x"), *args])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_refuses_to_overwrite_without_flag(tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["--out", str(out), "--count", "1", "--size", "48x64", "--quiet"]) == 0
    with pytest.raises(SystemExit):
        main(["--out", str(out), "--count", "1", "--size", "48x64", "--quiet"])
    assert "--overwrite" in capsys.readouterr().err
    assert main(["--out", str(out), "--count", "2", "--size", "48x64", "--quiet", "--overwrite"]) == 0
    assert len((out / "manifest.jsonl").read_text().splitlines()) == 2
