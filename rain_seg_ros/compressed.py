"""ROS-free codec for `sensor_msgs/CompressedImage` (jpeg, png) with OpenCV.

    >>> import numpy as np
    >>> fmt, data = rgb_to_compressed(np.zeros((8, 8, 3), np.uint8), "png")
    >>> fmt, compressed_to_rgb(fmt, data).shape
    ('rgb8; png compressed bgr8', (8, 8, 3))
"""

from __future__ import annotations

import struct
from typing import Any

import cv2
import numpy as np

from rain_seg_ros.codec import CodecError, check_size

FORMATS = ("jpeg", "png")


def compressed_kind(fmt: str) -> str:
    """'jpeg' or 'png' from a CompressedImage format ('jpeg', 'png', 'bgr8; jpeg compressed bgr8' ...)."""
    lowered = str(fmt).lower()
    if "png" in lowered:
        return "png"
    if "jpeg" in lowered or "jpg" in lowered:
        return "jpeg"
    raise CodecError(f"unsupported CompressedImage format {fmt!r}; supported: {FORMATS}")


def _header_size(buf: bytes) -> tuple[int, int] | None:
    """(height, width) read from a PNG IHDR or JPEG SOF marker, or None if not found.

    Checked before decoding so that a tiny file claiming 60000x60000 pixels is refused
    instead of making OpenCV allocate gigabytes.
    """
    if buf[:8] == b"\x89PNG\r\n\x1a\n" and len(buf) >= 24:
        width, height = struct.unpack(">II", buf[16:24])
        return height, width
    i = 2
    while buf[:2] == b"\xff\xd8" and i + 9 <= len(buf):
        if buf[i] != 0xFF:
            return None
        marker = buf[i + 1]
        if marker == 0xDA:  # start of scan: no frame header before the pixel data
            return None
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            height, width = struct.unpack(">HH", buf[i + 5: i + 9])
            return height, width
        i += 2 + struct.unpack(">H", buf[i + 2: i + 4])[0]
    return None


def compressed_to_rgb(fmt: str, data: Any) -> np.ndarray:
    """CompressedImage fields -> (H, W, 3) uint8 RGB; 16-bit PNGs are scaled to 8 bit."""
    compressed_kind(fmt)
    try:
        buf = np.frombuffer(data, dtype=np.uint8)
    except (TypeError, ValueError) as err:
        raise CodecError(f"compressed data is not a byte buffer: {err}") from None
    if buf.size == 0:
        raise CodecError("empty CompressedImage data")
    size = _header_size(buf[:65536].tobytes())
    if size is not None:
        check_size(*size)
    try:
        bgr = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    except cv2.error as err:
        raise CodecError(f"could not decode {fmt}: {err}") from None
    if bgr is None:
        raise CodecError(f"corrupt or unreadable {fmt} data ({buf.size} bytes)")
    check_size(bgr.shape[0], bgr.shape[1])
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def rgb_to_compressed(rgb: np.ndarray, kind: str = "jpeg", jpeg_quality: int = 90) -> tuple[str, bytes]:
    """(H, W, 3) uint8 RGB -> (format string as image_transport writes it, encoded bytes)."""
    kind = compressed_kind(kind)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise CodecError(f"expected (H, W, 3) uint8 RGB, got {rgb.shape} {rgb.dtype}")
    check_size(rgb.shape[0], rgb.shape[1])
    params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)] if kind == "jpeg" else []
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(".jpg" if kind == "jpeg" else ".png", bgr, params)
    if not ok:
        raise CodecError(f"OpenCV could not encode {kind}")
    return f"rgb8; {kind} compressed bgr8", encoded.tobytes()


def mono_to_png(mask: np.ndarray) -> tuple[str, bytes]:
    """(H, W) uint8 mask -> lossless PNG (class ids must survive compression)."""
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(mask, dtype=np.uint8))
    if not ok:
        raise CodecError("OpenCV could not encode the mask as png")
    return "mono8; png compressed mono8", encoded.tobytes()
