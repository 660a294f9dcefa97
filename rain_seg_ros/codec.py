"""ROS-free codec between `sensor_msgs/Image` fields and numpy arrays.

Works on anything shaped like an Image message (rclpy, rosbags, a SimpleNamespace): it reads
`height`, `width`, `encoding`, `is_bigendian`, `step` and `data` and never imports ROS.
Every malformed input raises `CodecError` (a ValueError) and nothing else, so a node can
count and skip it.

    >>> import numpy as np
    >>> fields = array_to_image_fields(np.zeros((2, 4, 3), np.uint8), "rgb8")
    >>> image_to_rgb(fields).shape
    (2, 4, 3)

Where `cv_bridge` is importable `imgmsg_to_rgb` uses it (after the same validation) and this
codec otherwise; `tests/rain_seg_ros/test_codec.py` checks the two give identical arrays.
"""

from __future__ import annotations

import array
import sys
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np


class CodecError(ValueError):
    """A frame that cannot be decoded or encoded (bad encoding, size, data)."""


@dataclass(frozen=True)
class EncodingInfo:
    channels: int  # samples per pixel as stored (2 for packed YUV 4:2:2: Y plus U or V)
    dtype: str


ENCODINGS: dict[str, EncodingInfo] = {
    "rgb8": EncodingInfo(3, "uint8"), "bgr8": EncodingInfo(3, "uint8"),
    "rgba8": EncodingInfo(4, "uint8"), "bgra8": EncodingInfo(4, "uint8"),
    "mono8": EncodingInfo(1, "uint8"), "mono16": EncodingInfo(1, "uint16"),
    "yuv422": EncodingInfo(2, "uint8"), "uyvy": EncodingInfo(2, "uint8"),
    "yuyv": EncodingInfo(2, "uint8"), "yuv422_yuy2": EncodingInfo(2, "uint8"),
    "bayer_rggb8": EncodingInfo(1, "uint8"), "bayer_bggr8": EncodingInfo(1, "uint8"),
    "bayer_gbrg8": EncodingInfo(1, "uint8"), "bayer_grbg8": EncodingInfo(1, "uint8"),
}
YUV_ORDER = {"yuv422": "UYVY", "uyvy": "UYVY", "yuyv": "YUYV", "yuv422_yuy2": "YUYV"}
# OpenCV names a Bayer pattern after the 2x2 block starting at pixel (1, 1), so ROS `rggb`
# is OpenCV `BG` (cv_bridge and rosbags-image use the same table).
BAYER_CV = {"bayer_rggb8": "BG", "bayer_bggr8": "RG", "bayer_gbrg8": "GR", "bayer_grbg8": "GB"}
# Which colour sits at (0,0), (0,1), (1,0), (1,1) of the 2x2 tile, as RGB channel indices.
BAYER_TILE = {"bayer_rggb8": (0, 1, 1, 2), "bayer_bggr8": (2, 1, 1, 0),
              "bayer_gbrg8": (1, 2, 0, 1), "bayer_grbg8": (1, 0, 2, 1)}

# Far beyond any camera, small enough that a hostile header cannot make us allocate GBs.
# MAX_PIXELS is the default (and the ceiling) of the nodes' `max_image_pixels` parameter.
MAX_SIDE = 16384
MAX_PIXELS = 64 * 1024 * 1024


@dataclass
class ImageFields:
    """The payload fields of sensor_msgs/Image (header excluded)."""

    height: int
    width: int
    encoding: str
    is_bigendian: int
    step: int
    data: bytes


def encoding_info(encoding: str) -> EncodingInfo:
    try:
        return ENCODINGS[encoding.lower()]
    except (KeyError, AttributeError):
        raise CodecError(f"unsupported encoding {encoding!r}; supported: {sorted(ENCODINGS)}") from None


def check_size(height: int, width: int, max_pixels: int = MAX_PIXELS) -> None:
    """Reject empty and absurd image sizes before anything is allocated.

    Args:
        max_pixels: the caller's cap (a node's `max_image_pixels`); never above MAX_PIXELS.
    """
    if height <= 0 or width <= 0:
        raise CodecError(f"empty image {width}x{height}")
    if height > MAX_SIDE or width > MAX_SIDE:
        raise CodecError(f"image size {width}x{height} is over the limit of {MAX_SIDE} pixels per side")
    limit = min(int(max_pixels), MAX_PIXELS)
    if height * width > limit:
        raise CodecError(f"image size {width}x{height} is over the limit of {limit} pixels "
                         f"(max_image_pixels; at most {MAX_PIXELS})")


def image_to_array(msg: Any, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Image fields -> native array without row padding, host byte order.

    Sizes, step and data length are checked before anything is allocated; the data must be
    exactly step x height bytes, as sensor_msgs/Image defines it.

    Returns:
        (H, W) for mono/Bayer, (H, W, C) otherwise (C = 2 for packed YUV 4:2:2).
    """
    encoding = str(msg.encoding).lower()
    info = encoding_info(encoding)
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    check_size(height, width, max_pixels)
    dtype = np.dtype(info.dtype)
    row_bytes = width * info.channels * dtype.itemsize
    if step < row_bytes:
        raise CodecError(f"step {step} < width x pixel size {row_bytes} for {encoding}")
    if encoding in YUV_ORDER and width % 2:
        raise CodecError(f"{encoding} needs an even width, got {width}")
    if encoding in BAYER_CV and (width < 2 or height < 2):
        raise CodecError(f"{encoding} needs at least 2x2 pixels, got {width}x{height}")
    try:
        raw = np.frombuffer(msg.data, dtype=np.uint8)
    except (TypeError, ValueError) as err:
        raise CodecError(f"image data is not a byte buffer: {err}") from None
    if raw.size != step * height:
        raise CodecError(f"data has {raw.size} bytes, step x height is {step * height}")
    rows = raw[: step * height].reshape(height, step)[:, :row_bytes]
    array = np.ascontiguousarray(rows).view(dtype)
    if dtype.itemsize > 1 and bool(msg.is_bigendian) != (sys.byteorder == "big"):
        array = array.byteswap()
    shape = (height, width) if info.channels == 1 else (height, width, info.channels)
    return array.reshape(shape)


def array_to_rgb(array: np.ndarray, encoding: str) -> np.ndarray:
    """Native array of `encoding` -> (H, W, 3) uint8 RGB."""
    encoding = encoding.lower()
    encoding_info(encoding)
    if encoding == "rgb8":
        return array
    if encoding in ("bgr8", "bgra8", "rgba8"):
        code = {"bgr8": cv2.COLOR_BGR2RGB, "bgra8": cv2.COLOR_BGRA2RGB, "rgba8": cv2.COLOR_RGBA2RGB}[encoding]
        return cv2.cvtColor(array, code)
    if encoding == "mono8":
        return cv2.cvtColor(array, cv2.COLOR_GRAY2RGB)
    if encoding == "mono16":
        # 16 -> 8 bit as cv_bridge does (convertTo with scale 255/65535, rounded).
        return cv2.cvtColor(cv2.convertScaleAbs(array, alpha=255.0 / 65535.0), cv2.COLOR_GRAY2RGB)
    if encoding in YUV_ORDER:
        return cv2.cvtColor(array, getattr(cv2, f"COLOR_YUV2RGB_{YUV_ORDER[encoding]}"))
    return cv2.cvtColor(array, getattr(cv2, f"COLOR_Bayer{BAYER_CV[encoding]}2RGB"))


def image_to_rgb(msg: Any, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Image message (or fields) -> (H, W, 3) uint8 RGB with this codec."""
    return np.ascontiguousarray(array_to_rgb(image_to_array(msg, max_pixels), str(msg.encoding)))


def rgb_to_array(rgb: np.ndarray, encoding: str) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> native array of `encoding` (inverse of array_to_rgb up to colour loss)."""
    encoding = encoding.lower()
    encoding_info(encoding)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise CodecError(f"expected (H, W, 3) uint8 RGB, got {rgb.shape} {rgb.dtype}")
    check_size(rgb.shape[0], rgb.shape[1])
    if encoding == "rgb8":
        return rgb
    if encoding in ("bgr8", "bgra8", "rgba8"):
        code = {"bgr8": cv2.COLOR_RGB2BGR, "bgra8": cv2.COLOR_RGB2BGRA, "rgba8": cv2.COLOR_RGB2RGBA}[encoding]
        return cv2.cvtColor(rgb, code)
    if encoding == "mono8":
        return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    if encoding == "mono16":
        return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.uint16) * 257  # 255 -> 65535
    if encoding in YUV_ORDER:
        if rgb.shape[1] % 2:
            raise CodecError(f"{encoding} needs an even width, got {rgb.shape[1]}")
        return cv2.cvtColor(rgb, getattr(cv2, f"COLOR_RGB2YUV_{YUV_ORDER[encoding]}"))
    tile = BAYER_TILE[encoding]
    mosaic = np.empty(rgb.shape[:2], np.uint8)
    for k, (dy, dx) in enumerate(((0, 0), (0, 1), (1, 0), (1, 1))):
        mosaic[dy::2, dx::2] = rgb[dy::2, dx::2, tile[k]]
    return mosaic


def array_to_image_fields(array: np.ndarray, encoding: str) -> ImageFields:
    """Native array -> Image fields (host byte order, no padding)."""
    encoding = encoding.lower()
    info = encoding_info(encoding)
    array = np.ascontiguousarray(array, dtype=info.dtype)
    expected_ndim = 2 if info.channels == 1 else 3
    if array.ndim != expected_ndim or (expected_ndim == 3 and array.shape[2] != info.channels):
        raise CodecError(f"array of shape {array.shape} does not fit {encoding}")
    height, width = array.shape[:2]
    check_size(height, width)
    return ImageFields(height=height, width=width, encoding=encoding,
                       is_bigendian=int(sys.byteorder == "big"),
                       step=width * info.channels * array.dtype.itemsize, data=array.tobytes())


def rgb_to_image_fields(rgb: np.ndarray, encoding: str = "rgb8") -> ImageFields:
    """(H, W, 3) uint8 RGB -> Image fields in `encoding` (the weather node answers in the input's)."""
    return array_to_image_fields(rgb_to_array(rgb, encoding), encoding)


def message_data(buffer: Any) -> array.array:
    """Any byte buffer (bytes, numpy array, memoryview) -> array.array('B'), one memcpy.

    Why: rosidl's generated setter for a uint8[] field such as Image.data stores an
    array.array('B') as it is, but checks anything else byte by byte in Python (Humble always;
    Jazzy/Kilted with ROS_PYTHON_CHECK_FIELDS=1): ~1 s for a 2048x1024 rgb8 frame. Without the
    check it still copies through array.array('B', value), which iterates a memoryview element
    by element (~0.5 s for 6 MB here; the issue measured 200 ms). frombytes takes the buffer
    protocol and copies once.
    """
    data = array.array("B")
    data.frombytes(buffer)
    return data


def fill_image_msg(msg: Any, fields: ImageFields, header: Any | None = None) -> Any:
    """Copy fields (and the input header, so stamps and frame_ids survive) into a message.

    `data` goes in as array.array('B') (see message_data): never a memoryview or bytes.
    """
    if header is not None:
        msg.header = header
    msg.height, msg.width, msg.encoding = fields.height, fields.width, fields.encoding
    msg.is_bigendian, msg.step = fields.is_bigendian, fields.step
    msg.data = message_data(fields.data)
    return msg


def _cv_bridge() -> Any | None:
    try:
        from cv_bridge import CvBridge
    except ImportError:
        return None
    return CvBridge()


_BRIDGE = _cv_bridge()


def imgmsg_to_rgb(msg: Any, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Image message -> (H, W, 3) uint8 RGB, through cv_bridge when it is importable."""
    if _BRIDGE is None:
        return image_to_rgb(msg, max_pixels)
    native = image_to_array(msg, max_pixels)  # same validation and CodecError either way
    try:
        return np.ascontiguousarray(_BRIDGE.imgmsg_to_cv2(msg, desired_encoding="rgb8"))
    except Exception:  # noqa: BLE001 - older cv_bridge lacks some encodings (yuv422_yuy2): decode here
        return np.ascontiguousarray(array_to_rgb(native, str(msg.encoding)))
