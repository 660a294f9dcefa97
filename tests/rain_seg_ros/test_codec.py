"""sensor_msgs/Image codec against independent references: numpy byte formulas, a BT.601
YUV formula, Bayer sampling, and rosbags-image (a separate implementation of the ROS encodings)."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from rosbags.image import image_to_cvimage

from rain_seg_ros.codec import (
    BAYER_TILE,
    ENCODINGS,
    MAX_SIDE,
    CodecError,
    array_to_image_fields,
    image_to_array,
    image_to_rgb,
    imgmsg_to_rgb,
    rgb_to_array,
    rgb_to_image_fields,
)

COLOUR = ["rgb8", "bgr8", "rgba8", "bgra8"]
YUV = ["yuv422", "uyvy", "yuyv", "yuv422_yuy2"]
BAYER = list(BAYER_TILE)


def msg(array: np.ndarray, encoding: str, pad: int = 0, bigendian: bool = False) -> SimpleNamespace:
    """Build Image fields by hand (not with the codec): rows of raw bytes plus `pad` junk bytes."""
    dtype = np.dtype(array.dtype).newbyteorder(">" if bigendian else "<")
    rows = np.ascontiguousarray(array.astype(dtype)).reshape(array.shape[0], -1).view(np.uint8)
    junk = np.full((rows.shape[0], pad), 0xAB, np.uint8)
    data = np.concatenate([rows, junk], axis=1)
    return SimpleNamespace(height=array.shape[0], width=array.shape[1], encoding=encoding,
                           is_bigendian=int(bigendian), step=data.shape[1], data=data.tobytes())


def rosbags_rgb(array: np.ndarray, encoding: str) -> np.ndarray:
    """rosbags-image's conversion of the same (unpadded, little-endian) frame."""
    return image_to_cvimage(msg(array, encoding), "rgb8")


shapes = st.tuples(st.integers(1, 12), st.integers(1, 12))
rgb_images = shapes.flatmap(lambda s: arrays(np.uint8, (s[0], s[1], 3)))


@settings(max_examples=40, deadline=None)
@given(rgb_images, st.sampled_from(COLOUR), st.integers(0, 9))
def test_colour_round_trip_exact_with_padding(rgb, encoding, pad):
    native = {"rgb8": rgb, "bgr8": rgb[..., ::-1],
              "rgba8": np.dstack([rgb, np.full(rgb.shape[:2], 7, np.uint8)]),
              "bgra8": np.dstack([rgb[..., ::-1], np.full(rgb.shape[:2], 7, np.uint8)])}[encoding]
    np.testing.assert_array_equal(image_to_rgb(msg(native, encoding, pad)), rgb)
    np.testing.assert_array_equal(image_to_rgb(rgb_to_image_fields(rgb, encoding)), rgb)


@settings(max_examples=40, deadline=None)
@given(shapes.flatmap(lambda s: arrays(np.uint16, s)), st.integers(0, 5), st.booleans())
def test_mono16_endianness_and_padding(gray, pad, bigendian):
    frame = msg(gray, "mono16", pad, bigendian)
    np.testing.assert_array_equal(image_to_array(frame), gray)
    expected8 = np.floor(gray.astype(np.float64) * 255 / 65535 + 0.5).astype(np.uint8)
    np.testing.assert_array_equal(image_to_rgb(frame), np.dstack([expected8] * 3))


@settings(max_examples=30, deadline=None)
@given(shapes.flatmap(lambda s: arrays(np.uint8, s)), st.integers(0, 5))
def test_mono8_and_gray_round_trips(gray, pad):
    rgb = np.dstack([gray] * 3)
    np.testing.assert_array_equal(image_to_rgb(msg(gray, "mono8", pad)), rgb)
    np.testing.assert_array_equal(rgb_to_array(rgb, "mono8"), gray)
    np.testing.assert_array_equal(rgb_to_array(rgb, "mono16"), gray.astype(np.uint16) * 257)
    np.testing.assert_array_equal(image_to_rgb(rgb_to_image_fields(rgb, "mono16")), rgb)


def bt601_uyvy_to_rgb(packed: np.ndarray, order: str) -> np.ndarray:
    """Independent numpy YUV 4:2:2 (video range, BT.601) -> RGB."""
    flat = packed.reshape(packed.shape[0], -1, 4).astype(np.float64)  # (H, W/2, 4) macro-pixels
    if order == "UYVY":
        u, y0, v, y1 = (flat[..., k] for k in range(4))
    else:
        y0, u, y1, v = (flat[..., k] for k in range(4))
    y = np.stack([y0, y1], axis=-1).reshape(packed.shape[0], -1)  # (H, W)
    u, v = np.repeat(u, 2, axis=1) - 128, np.repeat(v, 2, axis=1) - 128
    yy = 1.164 * np.maximum(y - 16, 0)
    rgb = np.stack([yy + 1.596 * v, yy - 0.391 * u - 0.813 * v, yy + 2.018 * u], axis=-1)
    return np.clip(np.rint(rgb), 0, 255)


@settings(max_examples=30, deadline=None)
@given(st.tuples(st.integers(1, 8), st.integers(1, 6)).flatmap(
    lambda s: arrays(np.uint8, (s[0], 2 * s[1], 2))), st.sampled_from(YUV), st.integers(0, 6))
def test_yuv422_against_formula_and_rosbags(packed, encoding, pad):
    out = image_to_rgb(msg(packed, encoding, pad))
    np.testing.assert_array_equal(out, rosbags_rgb(packed, encoding))
    order = "UYVY" if encoding in ("yuv422", "uyvy") else "YUYV"
    assert np.abs(out.astype(int) - bt601_uyvy_to_rgb(packed, order)).max() <= 2


@settings(max_examples=20, deadline=None)
@given(rgb_images.filter(lambda a: a.shape[1] % 2 == 0), st.sampled_from(YUV))
def test_yuv_encode_keeps_luma(rgb, encoding):
    packed = rgb_to_array(rgb, encoding)
    luma = packed[..., 1] if encoding in ("yuv422", "uyvy") else packed[..., 0]
    y601 = 16 + (65.481 * rgb[..., 0] + 128.553 * rgb[..., 1] + 24.966 * rgb[..., 2]) / 255
    assert np.abs(luma.astype(int) - y601).max() <= 1


@settings(max_examples=30, deadline=None)
@given(st.tuples(st.integers(1, 6), st.integers(1, 6)).flatmap(
    lambda s: arrays(np.uint8, (2 * s[0], 2 * s[1]))), st.sampled_from(BAYER), st.integers(0, 5))
def test_bayer_keeps_measured_samples_and_matches_rosbags(raw, encoding, pad):
    out = image_to_rgb(msg(raw, encoding, pad))
    np.testing.assert_array_equal(out, rosbags_rgb(raw, encoding))
    # Away from the 1-pixel border (which OpenCV copies from its neighbours) the channel the
    # sensor measured at a site is passed through untouched.
    tile = np.array(BAYER_TILE[encoding]).reshape(2, 2)
    ys, xs = np.mgrid[1:raw.shape[0] - 1, 1:raw.shape[1] - 1]
    np.testing.assert_array_equal(out[ys, xs, tile[ys % 2, xs % 2]], raw[ys, xs])
    np.testing.assert_array_equal(rgb_to_array(out, encoding)[1:-1, 1:-1], raw[1:-1, 1:-1])


def test_bayer_of_uniform_colour_is_uniform():
    colour = np.array([200, 90, 30], np.uint8)
    rgb = np.broadcast_to(colour, (8, 10, 3)).copy()
    for encoding in BAYER:
        out = image_to_rgb(rgb_to_image_fields(rgb, encoding))
        np.testing.assert_array_equal(out[2:-2, 2:-2], rgb[2:-2, 2:-2])


def test_every_encoding_round_trips_through_fields():
    rgb = np.random.default_rng(0).integers(0, 256, (6, 8, 3), dtype=np.uint8)
    for encoding in ENCODINGS:
        fields = rgb_to_image_fields(rgb, encoding)
        assert fields.step * fields.height == len(fields.data)
        assert fields.is_bigendian == int(sys.byteorder == "big")
        assert image_to_rgb(fields).shape == rgb.shape
        np.testing.assert_array_equal(image_to_rgb(fields), rosbags_rgb(image_to_array(fields), encoding))


def bad(**overrides):
    base = dict(height=4, width=4, encoding="rgb8", is_bigendian=0, step=12, data=bytes(48))
    base.update(overrides)
    return SimpleNamespace(**base)


@pytest.mark.parametrize("frame", [
    bad(encoding="32FC1"), bad(encoding="nv12"), bad(encoding=None),
    bad(data=bytes(47)), bad(data=bytes(49)), bad(data=b""), bad(height=0, data=b""), bad(width=0, step=0),
    bad(height=MAX_SIDE + 1), bad(width=100000, height=100000, step=300000),
    bad(step=11), bad(step=-12), bad(encoding="yuv422", width=3, step=6),
    bad(encoding="bayer_rggb8", width=1, height=1, step=1), bad(data=12345), bad(data="text"),
], ids=lambda f: f"{f.encoding}-{f.width}x{f.height}-step{f.step}")
def test_bad_frames_raise_codec_error(frame):
    with pytest.raises(CodecError):
        image_to_rgb(frame)
    with pytest.raises(CodecError):
        imgmsg_to_rgb(frame)


def test_pixel_cap_is_the_callers():
    frame = bad(height=100, width=100, step=300, data=bytes(30000))
    assert image_to_rgb(frame, max_pixels=10000).shape == (100, 100, 3)
    for decode in (image_to_rgb, imgmsg_to_rgb):
        with pytest.raises(CodecError, match="max_image_pixels"):
            decode(frame, max_pixels=9999)


@settings(max_examples=150, deadline=None)
@given(st.integers(-3, 40), st.integers(-3, 40), st.sampled_from([*ENCODINGS, "x", "RGB8", "16UC1"]),
       st.integers(-5, 200), st.binary(max_size=600), st.integers(0, 1))
def test_arbitrary_fields_decode_or_raise_codec_error(height, width, encoding, step, data, endian):
    frame = SimpleNamespace(height=height, width=width, encoding=encoding, is_bigendian=endian,
                            step=step, data=data)
    try:
        out = image_to_rgb(frame)
    except CodecError:
        return
    assert out.shape == (height, width, 3) and out.dtype == np.uint8


def test_encode_rejects_wrong_arrays():
    with pytest.raises(CodecError):
        rgb_to_array(np.zeros((4, 4), np.uint8), "rgb8")
    with pytest.raises(CodecError):
        rgb_to_array(np.zeros((4, 3, 3), np.uint8), "yuyv")
    with pytest.raises(CodecError):
        array_to_image_fields(np.zeros((4, 4, 3), np.uint8), "mono8")
    with pytest.raises(CodecError):
        rgb_to_image_fields(np.zeros((0, 4, 3), np.uint8), "rgb8")


def test_cv_bridge_gives_identical_arrays():
    cv_bridge = pytest.importorskip("cv_bridge")
    from sensor_msgs.msg import Image

    bridge = cv_bridge.CvBridge()
    rgb = np.random.default_rng(1).integers(0, 256, (6, 8, 3), dtype=np.uint8)
    for encoding in ENCODINGS:
        fields = rgb_to_image_fields(rgb, encoding)
        ros_msg = Image(height=fields.height, width=fields.width, encoding=fields.encoding,
                        is_bigendian=fields.is_bigendian, step=fields.step, data=fields.data)
        np.testing.assert_array_equal(bridge.imgmsg_to_cv2(ros_msg, "rgb8"), image_to_rgb(fields))


# --- building messages: Image.data must not go through a per-byte Python path -----------------

def best_ms(fn, repeats: int = 3) -> float:
    """Fastest of a few runs: the machine is shared, the slow path is ~100x slower anyway."""
    import time

    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return min(times)


@pytest.mark.parametrize("check_fields", [True, False])
def test_six_mb_image_message_builds_in_a_few_ms(check_fields: bool):
    # check_fields=True is the setter path Humble always takes (and Jazzy/Kilted with
    # ROS_PYTHON_CHECK_FIELDS=1): anything but array.array('B') is checked byte by byte (~1 s).
    image_cls = pytest.importorskip("sensor_msgs.msg").Image
    from rain_seg_ros.codec import fill_image_msg

    rgb = np.random.default_rng(0).integers(0, 256, (1024, 2048, 3), dtype=np.uint8)
    fields = array_to_image_fields(rgb, "rgb8")
    built = fill_image_msg(image_cls(check_fields=check_fields), fields)
    assert np.array_equal(np.frombuffer(built.data, np.uint8), rgb.reshape(-1))
    assert best_ms(lambda: fill_image_msg(image_cls(check_fields=check_fields), fields)) < 40


def test_memoryview_data_is_copied_once_not_per_element():
    image_cls = pytest.importorskip("sensor_msgs.msg").Image
    from rain_seg_ros.codec import ImageFields, fill_image_msg

    rgb = np.random.default_rng(1).integers(0, 256, (1024, 2048, 3), dtype=np.uint8)
    fields = ImageFields(height=1024, width=2048, encoding="rgb8", is_bigendian=0, step=2048 * 3,
                         data=memoryview(rgb).cast("B"))  # type: ignore[arg-type]
    built = fill_image_msg(image_cls(), fields)
    assert built.data.tobytes() == rgb.tobytes()
    assert best_ms(lambda: fill_image_msg(image_cls(), fields)) < 40


def test_built_message_serialises_to_the_same_pixels():
    pytest.importorskip("rclpy")
    from rclpy.serialization import deserialize_message, serialize_message
    from sensor_msgs.msg import Image

    from rain_seg_ros.codec import fill_image_msg

    rgb = np.random.default_rng(2).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    back = deserialize_message(serialize_message(fill_image_msg(Image(), rgb_to_image_fields(rgb, "bgr8"))),
                               Image)
    assert (back.height, back.width, back.encoding, back.step) == (48, 64, "bgr8", 64 * 3)
    assert np.array_equal(np.frombuffer(back.data, np.uint8).reshape(48, 64, 3), rgb[..., ::-1])
