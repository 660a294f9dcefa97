"""Image bombs and mislabelled data against the CompressedImage decoder.

Every hostile input is built here from a real file written by Pillow (an independent encoder)
and then patched by hand. Each must be refused with CodecError, and the decode attempt must
not grow the peak memory of a fresh process by more than GROWTH_LIMIT_MB: the old guard read
only the first 64 KB, so a JPEG whose frame header sat behind a 64 KB APP1 segment made
OpenCV allocate ~2.3 GB for 20000 x 20000 pixels before anything was checked.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from rain_seg_ros.codec import CodecError
from rain_seg_ros.compressed import compressed_to_rgb

from .image_builders import BIG_APP1, ODD_MARKERS, SMALL_JPEG, jpeg_declaring, pil_bytes, png_grey, segment

ROOT = Path(__file__).resolve().parents[2]
GROWTH_LIMIT_MB = 200

# Runs in a fresh process: peak RSS (VmHWM) is reset before each decode through
# /proc/self/clear_refs, so each case's growth is its own. Cases come as files + JSON.
MEASURE = r"""
import json, re, sys
from pathlib import Path
from rain_seg_ros.compressed import compressed_to_rgb

def peak_mb():
    return int(re.search(r"VmHWM:\s+(\d+)", Path("/proc/self/status").read_text()).group(1)) / 1024

folder = Path(sys.argv[1])
results = {}
for name, case in json.loads((folder / "cases.json").read_text()).items():
    data = (folder / name).read_bytes()
    Path("/proc/self/clear_refs").write_text("5")
    before = peak_mb()
    try:
        out = compressed_to_rgb(case["format"], data, **case.get("kwargs", {}))
        outcome = f"decoded {out.shape}"
    except Exception as err:
        outcome = type(err).__name__
    results[name] = {"outcome": outcome, "growth_mb": peak_mb() - before}
print(json.dumps(results))
"""


def hostile_cases() -> dict[str, tuple[str, bytes, dict]]:
    rng = np.random.default_rng(7)
    rgb = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    junk = rng.integers(0, 256, 5000, np.uint8).tobytes()
    return {
        "jpeg_20000_behind_app1": ("jpeg", jpeg_declaring(20000, 20000, BIG_APP1), {}),
        "jpeg_65500_behind_app1": ("jpeg", jpeg_declaring(65500, 65500, BIG_APP1), {}),
        "jpeg_16000_behind_two_app1": ("jpeg", jpeg_declaring(16000, 16000, BIG_APP1 + BIG_APP1), {}),
        "jpeg_12000_behind_odd_markers": ("jpeg", jpeg_declaring(12000, 12000, ODD_MARKERS), {}),
        "jpeg_under_default_over_cap": ("jpeg", jpeg_declaring(4000, 4000, BIG_APP1),
                                        {"max_pixels": 1_000_000}),
        "png_ihdr_60000_tiny_idat": ("png", png_grey(60000, 60000, rows=1), {}),
        "png_inflates_to_144_mpx": ("png", png_grey(12000, 12000, rows=12000), {}),
        "webp_labelled_jpeg": ("jpeg", pil_bytes(rgb, "WEBP"), {}),
        "png_labelled_jpeg": ("jpeg", pil_bytes(rgb, "PNG"), {}),
        "jpeg_labelled_png": ("png", pil_bytes(rgb, "JPEG"), {}),
        "jpeg_cut_inside_app1": ("jpeg", jpeg_declaring(16, 16, BIG_APP1)[:40000], {}),
        "jpeg_scan_before_frame": ("jpeg", SMALL_JPEG[:2] + segment(0xDA, bytes(10)) + SMALL_JPEG[2:], {}),
        "jpeg_many_tiny_segments": ("jpeg",
                                    SMALL_JPEG[:2] + segment(0xFE, b"") * 100000 + SMALL_JPEG[2:], {}),
        "png_cut_inside_ihdr": ("png", png_grey(16, 16, rows=16)[:20], {}),
        "jpeg_magic_then_garbage": ("jpeg", b"\xff\xd8\xff" + junk, {}),
        "garbage": ("png", junk, {}),
    }


CASES = hostile_cases()


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    folder = tmp_path_factory.mktemp("bombs")
    manifest = {}
    for name, (fmt, data, kwargs) in CASES.items():
        (folder / name).write_bytes(data)
        manifest[name] = {"format": fmt, "kwargs": kwargs}
    (folder / "cases.json").write_text(json.dumps(manifest))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", MEASURE, str(folder)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_image_is_refused_with_bounded_memory(measured, name):
    result = measured[name]
    assert result["outcome"] == CodecError.__name__, result
    assert result["growth_mb"] < GROWTH_LIMIT_MB, result


def test_the_same_structures_decode_when_the_size_is_honest():
    """The hiding places are legal JPEG: with the true size the frame decodes to what Pillow reads
    from the file without them (Pillow itself does not accept TEM markers)."""
    theirs = np.asarray(PILImage.open(io.BytesIO(SMALL_JPEG)).convert("RGB")).astype(int)
    for before_sof in (BIG_APP1, BIG_APP1 + BIG_APP1, ODD_MARKERS):
        ours = compressed_to_rgb("jpeg", jpeg_declaring(16, 16, before_sof)).astype(int)
        assert np.abs(ours - theirs).max() <= 3
