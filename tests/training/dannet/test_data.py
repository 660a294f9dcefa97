"""Target pairs: the day twin is shifted against the night one by at most misalign_px."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from training.dannet.config import TrainDANNetConfig
from training.dannet.data import build_target_pairs, misalign
from training.engine.config import resolve_config

from .conftest import SYNTH_CONFIG, tiny_overrides


def _found_shift(before: np.ndarray, after: np.ndarray, max_px: int) -> tuple[int, int] | None:
    """The integer (dy, dx) with after[y, x] == before[y - dy, x - dx] inside the border, if any."""
    m = max_px
    for dy in range(-m, m + 1):
        for dx in range(-m, m + 1):
            shifted = np.roll(before, (dy, dx), axis=(0, 1))
            if np.allclose(after[m:-m, m:-m], shifted[m:-m, m:-m], atol=1e-4):
                return dy, dx
    return None


def test_misalign_shifts_by_whole_pixels_within_the_limit():
    h, w = 16, 24
    ramp = torch.arange(h * w, dtype=torch.float32).view(1, 1, h, w).expand(1, 3, h, w) / (h * w)
    torch.manual_seed(0)
    shifts = []
    for _ in range(12):
        out = misalign(ramp, 3, 0.0)[0, 0].numpy()
        shift = _found_shift(ramp[0, 0].numpy(), out, 3)
        assert shift is not None
        shifts.append(shift)
    assert any(s != (0, 0) for s in shifts) and len(set(shifts)) > 2
    assert torch.equal(misalign(ramp, 0, 0.0), ramp)


def test_only_the_day_twin_is_misaligned(night_scenes: Path, tmp_path: Path):
    def pairs(px: int):
        overrides = tiny_overrides(night_scenes, tmp_path, f"target.misalign_px={px}", "augment.hflip_p=0")
        return build_target_pairs(resolve_config(TrainDANNetConfig, SYNTH_CONFIG, overrides))

    torch.manual_seed(5)
    aligned = pairs(0)[3]
    torch.manual_seed(5)
    moved = pairs(4)[3]
    assert torch.equal(aligned["night"], moved["night"])
    assert not torch.equal(aligned["day"], moved["day"])


def test_dark_zurich_pairs_each_night_frame_with_its_gps_matched_day_frame(tmp_path: Path):
    from PIL import Image

    rng = np.random.default_rng(0)
    images = {}
    for time, seq, n in [("night", "GOPR0356", 1), ("night", "GOPR0356", 2), ("day", "GOPR0351", 9),
                         ("day", "GOPR0351", 10)]:
        key = f"train/{time}/{seq}/{seq}_frame_{n:06d}"
        path = tmp_path / "rgb_anon" / f"{key}_rgb_anon.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        images[key] = rng.integers(0, 256, (32, 64, 3), dtype=np.uint8)
        Image.fromarray(images[key]).save(path)
    corresp = tmp_path / "corresp/train/night/GOPR0356/corresp.csv"
    corresp.parent.mkdir(parents=True)
    corresp.write_text("train/night/GOPR0356/GOPR0356_frame_000001,train/day/GOPR0351/GOPR0351_frame_000010\n"
                       "train/night/GOPR0356/GOPR0356_frame_000002,train/day/GOPR0351/GOPR0351_frame_000009\n")
    overrides = tiny_overrides(tmp_path, tmp_path / "run", "target.pairing=ref", "target.misalign_px=0",
                               "augment.hflip_p=0", "target.night.dataset=dark_zurich",
                               "target.night.kwargs={time: night}")
    pairs = build_target_pairs(resolve_config(TrainDANNetConfig, None, overrides))   # schema defaults
    assert len(pairs) == 2
    sample = pairs[1]
    as_float = lambda key: torch.from_numpy(images[key].transpose(2, 0, 1) / 255.0).float()  # noqa: E731
    torch.testing.assert_close(sample["night"], as_float("train/night/GOPR0356/GOPR0356_frame_000002"))
    torch.testing.assert_close(sample["day"], as_float("train/day/GOPR0351/GOPR0351_frame_000009"))
