"""make-drive-bag --condition: clear / rain / night drives of the same street and labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from training.commands.make_drive_bag import main as make_drive_bag
from training.scenes.drive import DriveSpec, render_drive, write_drive_bag

SPEC = DriveSpec(height=32, width=64, frames=2)


def test_night_drive_is_the_same_street_at_night():
    rain = list(render_drive(3, SPEC))
    night = list(render_drive(3, DriveSpec(height=32, width=64, frames=2, condition="night")))
    for r, n in zip(rain, night):
        np.testing.assert_array_equal(r.label, n.label)           # geometry and labels unchanged
        np.testing.assert_array_equal(r.rain, n.rain)             # the rain stream is untouched
        assert n.night is not None and n.night.shape == r.clean.shape
        assert n.camera("night").mean() < 0.6 * n.camera("clear").mean()   # it is dark
    assert rain[0].night is None


def test_bag_records_the_chosen_condition(tmp_path: Path, capsys):
    assert make_drive_bag(["--out", str(tmp_path / "bag"), "--frames", "2", "--size", "32x64",
                           "--seed", "3", "--condition", "night", "--image-dir", str(tmp_path / "img")]) == 0
    assert '"condition": "night"' in capsys.readouterr().out
    frames = list(render_drive(3, DriveSpec(height=32, width=64, frames=2, condition="night")))
    for f in frames:
        saved = np.asarray(Image.open(tmp_path / "img" / f"{f.stamp_ns}.png"))
        np.testing.assert_array_equal(saved, f.night)
    clear_dir = tmp_path / "clear"
    write_drive_bag(tmp_path / "bag_clear", 3, DriveSpec(height=32, width=64, frames=1, condition="clear"),
                    image_dir=clear_dir)
    np.testing.assert_array_equal(np.asarray(Image.open(next(clear_dir.iterdir()))), frames[0].clean)
