"""make-drive-bag --condition: clear / rain / night drives of the same street and labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
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


def test_segmented_drive_records_each_frame_in_its_condition_with_the_true_condition(tmp_path: Path, capsys):
    from rain_seg_ros.replay.bag_io import read_topic

    segments = "clear:2,rain:1,night:2"
    assert make_drive_bag(["--out", str(tmp_path / "bag"), "--size", "32x64", "--seed", "4",
                           "--conditions", segments, "--image-dir", str(tmp_path / "img")]) == 0
    assert f'"condition": "{segments}"' in capsys.readouterr().out
    # the same street rendered whole-drive per condition: each frame must be its condition's twin
    single = {c: list(render_drive(4, DriveSpec(height=32, width=64, frames=5, condition=c)))
              for c in ("clear", "rain", "night")}
    truth = ["clear", "clear", "rain", "night", "night"]
    conds = read_topic(tmp_path / "bag", "/ground_truth/condition")
    images = read_topic(tmp_path / "bag", "/camera/image_raw")
    stamps = [f.stamp_ns for f in single["clear"]]
    assert [m.stamp_ns for m in conds] == [m.stamp_ns for m in images] == stamps
    for k, (cond, img) in enumerate(zip(conds, images)):
        (status,) = cond.msg.status
        values = {kv.key: kv.value for kv in status.values}
        assert status.message == values["condition"] == truth[k]
        assert float(values["rain_intensity"]) == (0.8 if truth[k] == "rain" else 0.0)
        twin = single[truth[k]][k]
        want = {"clear": twin.clean, "rain": twin.rain, "night": twin.night}[truth[k]]
        np.testing.assert_array_equal(np.asarray(img.msg.data).reshape(32, 64, 3), want)


def test_segments_must_name_known_conditions_and_add_up():
    with pytest.raises(SystemExit):
        make_drive_bag(["--out", "/nonexistent/x", "--conditions", "clear:2,fog:1"])
    with pytest.raises(ValueError, match="add up"):
        list(render_drive(0, DriveSpec(height=32, width=64, frames=3, segments=(("clear", 2),))))
