"""ROS-free codec for `sensor_msgs/CompressedImage` (jpeg, png) with OpenCV.

    >>> import numpy as np
    >>> fmt, data = rgb_to_compressed(np.zeros((8, 8, 3), np.uint8), "png")
    >>> fmt, compressed_to_rgb(fmt, data).shape
    ('rgb8; png compressed bgr8', (8, 8, 3))
"""

from __future__ import annotations

import re
import struct
from typing import Any

import cv2
import numpy as np

from rain_seg_ros.codec import MAX_PIXELS, CodecError, check_size

FORMATS = ("jpeg", "png")


def compressed_kind(fmt: str) -> str:
    """'jpeg' or 'png' from a CompressedImage format ('jpeg', 'png', 'bgr8; jpeg compressed bgr8' ...)."""
    lowered = str(fmt).lower()
    if "png" in lowered:
        return "png"
    if "jpeg" in lowered or "jpg" in lowered:
        return "jpeg"
    raise CodecError(f"unsupported CompressedImage format {fmt!r}; supported: {FORMATS}")


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SOI = b"\xff\xd8\xff"  # SOI plus the first byte of the next marker
# SOFn markers carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) share the range but are not frames.
SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
STANDALONE_MARKERS = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM, RST0-7: no length field
# Legit files have a few dozen segments before the frame header; a file of millions of tiny
# segments would only cost CPU here, so it is refused.
MAX_JPEG_SEGMENTS = 4096
# libjpeg keeps up to 2 bytes per pixel and component (progressive coefficients): 1 (grey),
# 3 (YCbCr/RGB) and 4 (CMYK/YCCK) are the layouts cameras write; more only multiplies memory.
JPEG_COMPONENTS = (1, 3, 4)
_FILL = re.compile(rb"\xff+")


def jpeg_size(buf: memoryview) -> tuple[int, int]:
    """(height, width) from the JPEG frame header (SOFn), wherever it is before the first scan.

    Walks every marker segment from SOI the way libjpeg does (fill bytes, standalone markers,
    lengths), so an APPn segment of any size cannot hide the size the decoder will allocate.
    Anything unusual before the frame header is refused rather than decoded blind.
    """
    if bytes(buf[:3]) != JPEG_SOI:
        raise CodecError("data labelled jpeg does not start with a JPEG SOI marker (FF D8 FF)")
    i, n = 2, len(buf)
    for _ in range(MAX_JPEG_SEGMENTS):
        if i >= n:
            raise CodecError("jpeg ends before its frame header (SOF): truncated")
        if buf[i] != 0xFF:
            raise CodecError(f"jpeg: expected a marker at byte {i}, found 0x{buf[i]:02X}")
        fill = _FILL.match(buf, i)  # buf[i] is 0xFF, so this matches
        i = fill.end() if fill else i + 1  # past the 0xFF and any fill bytes
        if i >= n:
            raise CodecError("jpeg ends inside a marker: truncated")
        marker = buf[i]
        i += 1
        if marker in STANDALONE_MARKERS:
            continue
        if marker in (0x00, 0xD8, 0xD9, 0xDA):
            raise CodecError(f"jpeg: marker FF{marker:02X} before the frame header (SOF)")
        length = int.from_bytes(buf[i:i + 2], "big") if i + 2 <= n else 0
        if length < 2 or i + length > n:
            raise CodecError(f"jpeg: segment FF{marker:02X} at byte {i - 2} is truncated or has a bad length")
        if marker in SOF_MARKERS:
            if length < 8:
                raise CodecError(f"jpeg: frame header of {length} bytes is too short")
            height, width, components = struct.unpack_from(">HHB", buf, i + 3)
            if components not in JPEG_COMPONENTS:
                raise CodecError(f"jpeg: {components} colour components are not supported")
            if length != 8 + 3 * components:
                raise CodecError(f"jpeg: frame header of {length} bytes does not fit {components} components")
            return height, width
        i += length
    raise CodecError(f"jpeg: no frame header (SOF) in the first {MAX_JPEG_SEGMENTS} segments")


def png_size(buf: memoryview) -> tuple[int, int]:
    """(height, width) from the PNG IHDR, which the format requires to be the first chunk."""
    if bytes(buf[:8]) != PNG_SIGNATURE:
        raise CodecError("data labelled png does not start with the PNG signature")
    if len(buf) < 33:  # signature + IHDR chunk (length, type, 13 bytes, CRC)
        raise CodecError(f"png of {len(buf)} bytes ends inside its header: truncated")
    length, kind, width, height = struct.unpack_from(">I4sII", buf, 8)
    if kind != b"IHDR" or length != 13:
        raise CodecError("png: the first chunk is not a 13-byte IHDR")
    return height, width


def compressed_to_rgb(fmt: str, data: Any, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """CompressedImage fields -> (H, W, 3) uint8 RGB; 16-bit PNGs are scaled to 8 bit.

    Only the format the message states is decoded (its magic bytes must match), and the size
    its header declares is checked against `max_pixels` before the decoder allocates anything.
    """
    kind = compressed_kind(fmt)
    try:
        buf = np.frombuffer(data, dtype=np.uint8)
    except (TypeError, ValueError) as err:
        raise CodecError(f"compressed data is not a byte buffer: {err}") from None
    if buf.size == 0:
        raise CodecError("empty CompressedImage data")
    view = buf.data  # a memoryview: the marker walk reads it without copying
    check_size(*(jpeg_size(view) if kind == "jpeg" else png_size(view)), max_pixels)
    try:
        bgr = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    except cv2.error as err:
        raise CodecError(f"could not decode {fmt}: {err}") from None
    if bgr is None:
        raise CodecError(f"corrupt or unreadable {fmt} data ({buf.size} bytes)")
    check_size(bgr.shape[0], bgr.shape[1], max_pixels)
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
