"""Image -> model input, shared by every backend; all constants come from the sidecar.

Per image: resize to the model's (H, W) by the sidecar's policy, reorder channels to its
colour order, scale to [0, 1], normalise with its mean/std, HWC -> CHW. Images are stacked
into one NCHW float32 batch. The resize happens on uint8 first (4x less memory traffic than
resizing floats); normalisation then runs at model size.

Graphs of the "ids_confidence_u8" / "image_u8" contracts normalise inside: for them the host
only resizes and reorders, and stacks uint8 (B, H, W, 3) (preprocess_u8).

Example:
    batch, frames = preprocess([rgb], artifact)     # (1, 3, H, W) float32, [Frame]
    batch, frames = preprocess_u8([rgb], artifact)  # (1, H, W, 3) uint8, [Frame]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from rain_seg_ros.artifact import Artifact

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")


def list_images(folder: str | Path, limit: int | None = None) -> list[Path]:
    """Image files under `folder` (recursive, sorted), at most `limit`; FileNotFoundError if none."""
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"image folder {root} does not exist")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)[:limit]
    if not files:
        raise FileNotFoundError(f"no images ({', '.join(IMAGE_SUFFIXES)}) under {root}")
    return files


def read_rgb(path: str | Path) -> np.ndarray:
    """(H, W, 3) uint8 RGB from an image file (OpenCV reads BGR)."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"cannot read image {path}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


@dataclass(frozen=True)
class Frame:
    """Where an input image went inside the model input, so outputs can be mapped back.

    Attributes:
        src_hw: the input image's (H, W).
        box: (top, left, height, width) of the image content inside the model input; the
            whole input for "stretch", the unpadded part for "letterbox".
    """

    src_hw: tuple[int, int]
    box: tuple[int, int, int, int]


def check_image(rgb: np.ndarray) -> None:
    """Raise ValueError unless `rgb` is an (H, W, 3) uint8 image."""
    if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        desc = f"{rgb.dtype} {rgb.shape}" if isinstance(rgb, np.ndarray) else type(rgb).__name__
        raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got {desc}")
    if rgb.shape[0] < 1 or rgb.shape[1] < 1:
        raise ValueError(f"empty image {rgb.shape}")


def resize_to_model(rgb: np.ndarray, artifact: Artifact) -> tuple[np.ndarray, Frame]:
    """Resize a uint8 (H, W, 3) image to the model's input size by the sidecar's resize policy.

    Returns:
        (model_h, model_w, 3) uint8 image and its Frame.
    """
    check_image(rgb)
    h, w = rgb.shape[:2]
    mh, mw = artifact.input_size
    if artifact.resize == "stretch":
        out = rgb if (h, w) == (mh, mw) else cv2.resize(rgb, (mw, mh), interpolation=cv2.INTER_LINEAR)
        return np.ascontiguousarray(out), Frame((h, w), (0, 0, mh, mw))
    # letterbox: keep the aspect ratio, centre the image, pad with the mean colour (-> 0 after normalising)
    scale = min(mh / h, mw / w)
    ch, cw = max(1, min(mh, round(h * scale))), max(1, min(mw, round(w * scale)))
    top, left = (mh - ch) // 2, (mw - cw) // 2
    fill = np.clip(np.round(np.asarray(artifact.mean) * 255.0), 0, 255).astype(np.uint8)
    out = np.empty((mh, mw, 3), dtype=np.uint8)
    out[:] = fill
    out[top:top + ch, left:left + cw] = cv2.resize(rgb, (cw, ch), interpolation=cv2.INTER_LINEAR)
    return out, Frame((h, w), (top, left, ch, cw))


def normalize(resized: np.ndarray, artifact: Artifact) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (3, H, W) float32 normalised in the sidecar's colour order."""
    # (x/255 - mean)/std == x * (1/(255 std)) - mean/std: one multiply-add per pixel
    mean = np.asarray(artifact.mean, dtype=np.float32)
    std = np.asarray(artifact.std, dtype=np.float32)
    scale = 1.0 / (255.0 * std)
    offset = mean / std
    if artifact.color_order == "BGR":
        resized, scale, offset = resized[..., ::-1], scale[::-1], offset[::-1]
    chw = resized.transpose(2, 0, 1).astype(np.float32)       # (3, H, W)
    chw *= scale[:, None, None]
    chw -= offset[:, None, None]
    return chw


def preprocess(images: Sequence[np.ndarray], artifact: Artifact) -> tuple[np.ndarray, list[Frame]]:
    """Batch of uint8 RGB images (any sizes) -> (B, 3, H, W) float32 model input and their Frames."""
    if len(images) == 0:
        raise ValueError("preprocess needs at least one image")
    mh, mw = artifact.input_size
    batch = np.empty((len(images), 3, mh, mw), dtype=np.float32)
    frames = []
    for i, rgb in enumerate(images):
        resized, frame = resize_to_model(rgb, artifact)
        batch[i] = normalize(resized, artifact)
        frames.append(frame)
    return batch, frames


def preprocess_u8(images: Sequence[np.ndarray], artifact: Artifact) -> tuple[np.ndarray, list[Frame]]:
    """Batch of uint8 RGB images (any sizes) -> (B, H, W, 3) uint8 in the model's colour order, Frames."""
    if len(images) == 0:
        raise ValueError("preprocess needs at least one image")
    mh, mw = artifact.input_size
    if len(images) == 1 and artifact.color_order != "BGR":
        # one RGB frame: a (1, H, W, 3) view of the resized image, no copy into a batch buffer
        # (an image already at the model size is passed through as it is)
        resized, frame = resize_to_model(images[0], artifact)
        return resized[None], [frame]
    batch = np.empty((len(images), mh, mw, 3), dtype=np.uint8)
    frames = []
    for i, rgb in enumerate(images):
        resized, frame = resize_to_model(rgb, artifact)
        batch[i] = resized[..., ::-1] if artifact.color_order == "BGR" else resized
        frames.append(frame)
    return batch, frames
