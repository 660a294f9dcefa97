"""CompressedImage codec against Pillow (an independent jpeg/png implementation)."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image as PILImage

from rain_seg_ros.codec import CodecError
from rain_seg_ros.compressed import compressed_kind, compressed_to_rgb, mono_to_png, rgb_to_compressed


def pil_bytes(rgb: np.ndarray, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    PILImage.fromarray(rgb).save(buf, format=fmt, **kw)
    return buf.getvalue()


@settings(max_examples=25, deadline=None)
@given(st.tuples(st.integers(1, 24), st.integers(1, 24)).flatmap(lambda s: arrays(np.uint8, (*s, 3))))
def test_png_round_trip_is_lossless_and_readable_by_pillow(rgb):
    fmt, data = rgb_to_compressed(rgb, "png")
    np.testing.assert_array_equal(compressed_to_rgb(fmt, data), rgb)
    np.testing.assert_array_equal(np.asarray(PILImage.open(io.BytesIO(data)).convert("RGB")), rgb)
    np.testing.assert_array_equal(compressed_to_rgb("png", pil_bytes(rgb, "PNG")), rgb)


def test_jpeg_decodes_like_pillow():
    rng = np.random.default_rng(0)
    smooth = np.clip(rng.normal(128, 20, (4, 6, 3)), 0, 255).astype(np.uint8)
    rgb = np.kron(smooth, np.ones((8, 8, 1), np.uint8))  # (32, 48, 3)
    data = pil_bytes(rgb, "JPEG", quality=95)
    ours = compressed_to_rgb("jpeg", data).astype(int)
    theirs = np.asarray(PILImage.open(io.BytesIO(data)).convert("RGB")).astype(int)
    assert np.abs(ours - theirs).max() <= 3
    fmt, encoded = rgb_to_compressed(rgb, "jpeg", jpeg_quality=95)
    assert fmt == "rgb8; jpeg compressed bgr8"
    assert np.abs(np.asarray(PILImage.open(io.BytesIO(encoded)).convert("RGB")).astype(int) - rgb).mean() < 3


def test_mask_png_keeps_class_ids():
    mask = np.random.default_rng(2).integers(0, 19, (9, 13)).astype(np.uint8)
    mask[0, 0] = 255
    _, data = mono_to_png(mask)
    np.testing.assert_array_equal(np.asarray(PILImage.open(io.BytesIO(data))), mask)


def test_format_strings():
    assert compressed_kind("bgr8; jpeg compressed bgr8") == "jpeg"
    assert compressed_kind("PNG") == "png"
    with pytest.raises(CodecError):
        compressed_kind("tiff")


def png_header_only(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))


def jpeg_with_size(width: int, height: int) -> bytes:
    good = pil_bytes(np.zeros((8, 8, 3), np.uint8), "JPEG")
    i = good.index(b"\xff\xc0")
    return good[: i + 5] + struct.pack(">HH", height, width) + good[i + 9:]


@pytest.mark.parametrize("fmt,data", [
    ("jpeg", b""),
    ("jpeg", b"\xff\xd8\xff\xe0 not a jpeg at all"),
    ("jpeg", pil_bytes(np.zeros((16, 16, 3), np.uint8), "JPEG")[:20]),
    ("png", png_header_only(60000, 60000)),
    ("jpeg", jpeg_with_size(65000, 65000)),
    ("png", b"\x89PNG\r\n\x1a\n" + bytes(40)),
    ("tiff", pil_bytes(np.zeros((4, 4, 3), np.uint8), "TIFF")),
    ("jpeg", 42),
])
def test_bad_compressed_raise_codec_error(fmt, data):
    with pytest.raises(CodecError):
        compressed_to_rgb(fmt, data)


def test_pixel_cap_applies_to_the_declared_size():
    rgb = np.zeros((100, 100, 3), np.uint8)
    for kind in ("PNG", "JPEG"):
        data = pil_bytes(rgb, kind)
        assert compressed_to_rgb(kind, data, max_pixels=10000).shape == (100, 100, 3)
        with pytest.raises(CodecError, match="max_image_pixels"):
            compressed_to_rgb(kind, data, max_pixels=9999)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(["jpeg", "png"]), st.binary(max_size=300))
def test_random_bytes_decode_or_raise_codec_error(fmt, junk):
    prefix = b"\xff\xd8\xff" if fmt == "jpeg" else b"\x89PNG\r\n\x1a\n"
    try:
        out = compressed_to_rgb(fmt, prefix + junk)
    except CodecError:
        return
    assert out.ndim == 3 and out.shape[2] == 3
