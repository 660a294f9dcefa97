"""scripts/smoothing_bench.py: the panning frames move as stated and the table has a row per flow."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def _bench():
    sys.path.insert(0, str(SCRIPTS))
    spec = importlib.util.spec_from_file_location("smoothing_bench", SCRIPTS / "smoothing_bench.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_frames_pan_by_the_step():
    got = _bench().frames(16, 40, 3, step=4)
    first, second = got[0][0][..., 0], got[1][0][..., 0]
    np.testing.assert_array_equal(second[:, :-4], first[:, 4:])   # content moves 4 px left a frame
    np.testing.assert_array_equal(got[1][1], second // 32)


def test_table_has_a_row_per_flow(tmp_path: Path):
    out = tmp_path / "bench.md"
    assert _bench().main(["--sizes", "32x64,48x32", "--flows", "off,dis_fast@32", "--frames", "3",
                          "--out", str(out)]) == 0
    rows = [line for line in out.read_text().splitlines() if line.startswith("| ")]
    assert rows[0] == "| flow | 32x64 | 48x32 |"
    assert [r.split(" | ")[0] for r in rows[1:]] == ["| off", "| dis_fast@32"]
    assert all(float(v) > 0 for r in rows[1:] for v in r.strip("| ").split(" | ")[1:])
