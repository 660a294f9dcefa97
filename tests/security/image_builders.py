"""Hostile and honest image files built by hand around small files Pillow writes (an
independent encoder): JPEG frame headers hidden behind large or odd segments, PNG headers
declaring huge sizes. Shared by the decoder and the node tests in tests/security/."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image as PILImage


def pil_bytes(rgb: np.ndarray, fmt: str) -> bytes:
    buf = io.BytesIO()
    PILImage.fromarray(rgb).save(buf, format=fmt)
    return buf.getvalue()


SMALL_JPEG = pil_bytes(np.full((16, 16, 3), 90, np.uint8), "JPEG")


def segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def jpeg_declaring(height: int, width: int, before_sof: bytes = b"") -> bytes:
    """Pillow's 16x16 JPEG with its SOF0 claiming height x width and `before_sof` right after SOI."""
    i = SMALL_JPEG.index(b"\xff\xc0")
    patched = SMALL_JPEG[: i + 5] + struct.pack(">HH", height, width) + SMALL_JPEG[i + 9:]
    return patched[:2] + before_sof + patched[2:]


BIG_APP1 = segment(0xE1, b"Exif\x00\x00" + bytes(65527))  # the largest segment JPEG allows
# Fill bytes, a standalone TEM marker and a comment between segments: legal, and the parser
# must step over them the way libjpeg does.
ODD_MARKERS = b"\xff\xff\xff" + b"\xff\x01" + segment(0xFE, b"comment") + segment(0xE2, bytes(35000))


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_grey(height: int, width: int, rows: int) -> bytes:
    """8-bit grey PNG declaring height x width whose IDAT holds `rows` zero rows."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    deflate = zlib.compressobj(9)
    row = bytes(width + 1)  # filter byte + pixels
    idat = b"".join(deflate.compress(row) for _ in range(rows)) + deflate.flush()
    chunks = png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks
