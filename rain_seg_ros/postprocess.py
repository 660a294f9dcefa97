"""Model output -> results at the input image's resolution, shared by every backend.

Segmentation: argmax over classes, softmax confidence of the winning class as uint8
(0..255), optional low-confidence -> ignore index, crop of the letterbox padding, nearest
resize of mask and confidence back to the input size (class ids must never be blended).
Images (DSANet generator): [0, 1] float CHW -> uint8 RGB, bilinear resize back.

Graphs of the "ids_confidence_u8" contract already give uint8 ids and confidence: the host
only applies min_confidence and resizes them back (segmentation_from_ids). A confidence at the
logits' low resolution (sidecar extra.confidence "low_resolution") is resized bilinearly straight
to the input size (one uint8 cv2 pass instead of a full-resolution one in the graph).

Example:
    masks = segmentation_from_logits(logits, frames, artifact)   # [(mask, confidence)]
    masks = segmentation_from_ids(ids, confidence, frames, artifact)
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from rain_seg_ros.artifact import Artifact
from rain_seg_ros.preprocess import Frame


def argmax_confidence(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(C, h, w) logits -> (h, w) uint8 class ids and (h, w) uint8 confidence = 255 * max softmax.

    max softmax = exp(l_max) / sum_c exp(l_c) = 1 / sum_c exp(l_c - l_max), computed without
    materialising the softmax.
    """
    if logits.ndim != 3:
        raise ValueError(f"expected (C, h, w) logits, got shape {logits.shape}")
    if logits.shape[0] > 256:
        raise ValueError(f"{logits.shape[0]} classes do not fit a uint8 mask")
    logits = logits.astype(np.float32, copy=False)
    labels = logits.argmax(axis=0)                                    # (h, w)
    top = np.take_along_axis(logits, labels[None], axis=0)            # (1, h, w)
    denom = np.exp(logits - top).sum(axis=0)                          # (h, w), >= 1
    confidence = np.rint(255.0 / denom).astype(np.uint8)
    return labels.astype(np.uint8), confidence


def crop_and_resize(plane: np.ndarray, frame: Frame, interpolation: int) -> np.ndarray:
    """The frame's content box of a model-size plane, resized back to the frame's size."""
    top, left, h, w = frame.box
    crop = plane[top:top + h, left:left + w]
    sh, sw = frame.src_hw
    if crop.shape[:2] == (sh, sw):
        return np.ascontiguousarray(crop)
    return cv2.resize(crop, (sw, sh), interpolation=interpolation)


def resize_low_plane(plane: np.ndarray, frame: Frame, model_hw: tuple[int, ...]) -> np.ndarray:
    """A (h, w) plane at a fraction of the model input's (H, W) -> the frame's content box of it,
    bilinearly resized (pixel centres, edges clamped) straight to the frame's size."""
    h, w = plane.shape
    big_h, big_w = model_hw
    top, left, box_h, box_w = frame.box
    sh, sw = frame.src_hw
    if frame.box == (0, 0, big_h, big_w):
        return cv2.resize(plane, (sw, sh), interpolation=cv2.INTER_LINEAR)
    # destination pixel centre -> model input -> low plane, as one affine map (a letterbox box)
    ax, ay = box_w / sw * w / big_w, box_h / sh * h / big_h
    bx = (0.5 * box_w / sw + left) * w / big_w - 0.5
    by = (0.5 * box_h / sh + top) * h / big_h - 0.5
    m = np.array([[ax, 0.0, bx], [0.0, ay, by]])
    return cv2.warpAffine(plane, m, (sw, sh), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)


def segmentation_from_logits(logits: np.ndarray, frames: Sequence[Frame], artifact: Artifact,
                             min_confidence: float = 0.0, want_confidence: bool = True,
                             ) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """(B, C, h, w) logits -> per image (mask, confidence), both uint8 (H, W) at the input size.

    Args:
        logits: raw model output for a batch of len(frames) images.
        frames: the Frames preprocess returned for that batch.
        artifact: the sidecar (ignore index, class count).
        min_confidence: pixels whose winning-class probability is below this (0..1) get
            the ignore index; 0 keeps every prediction.
        want_confidence: False returns None for the confidence; the exp over every logit is
            then skipped unless min_confidence needs it.
    """
    if logits.ndim != 4 or logits.shape[0] != len(frames):
        raise ValueError(f"expected ({len(frames)}, C, h, w) logits, got {logits.shape}")
    if artifact.num_classes and logits.shape[1] != artifact.num_classes:
        raise ValueError(f"model gives {logits.shape[1]} classes, sidecar names {artifact.num_classes}")
    threshold = int(np.ceil(min_confidence * 255.0))
    results: list[tuple[np.ndarray, np.ndarray | None]] = []
    for per_image, frame in zip(logits, frames):
        if want_confidence or threshold > 0:
            labels, confidence = argmax_confidence(per_image)
        else:  # the argmax alone: the confidence exp is most of the host cost
            labels, confidence = per_image.argmax(axis=0).astype(np.uint8), None
        if threshold > 0 and confidence is not None:
            labels[confidence < threshold] = artifact.ignore_index
        # INTER_NEAREST_EXACT samples pixel centres (like PIL/skimage); plain INTER_NEAREST
        # shifts the mask by half a source pixel.
        mask = crop_and_resize(labels, frame, cv2.INTER_NEAREST_EXACT)
        conf = (crop_and_resize(confidence, frame, cv2.INTER_NEAREST_EXACT)
                if want_confidence and confidence is not None else None)
        results.append((mask, conf))
    return results


def segmentation_from_ids(ids: np.ndarray, confidence: np.ndarray | None, frames: Sequence[Frame],
                          artifact: Artifact, min_confidence: float = 0.0, want_confidence: bool = True,
                          ) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """(B, h, w) uint8 class ids and confidence from the graph -> per image (mask, confidence) at input size.

    Args:
        ids, confidence: the graph's "mask" and "confidence" outputs for len(frames) images;
            confidence may be None when neither want_confidence nor min_confidence needs it.
        min_confidence, want_confidence: as for segmentation_from_logits.
    """
    if ids.ndim != 3 or ids.shape[0] != len(frames) or ids.dtype != np.uint8:
        raise ValueError(f"expected ({len(frames)}, h, w) uint8 class ids, got {ids.dtype} {ids.shape}")
    low = artifact.extra.get("confidence") == "low_resolution"   # (B, h, w), module docstring
    if confidence is not None and (confidence.ndim != 3 or confidence.shape[0] != ids.shape[0] if low
                                   else confidence.shape != ids.shape):
        raise ValueError(f"confidence {confidence.shape} does not match the class ids {ids.shape}")
    threshold = int(np.ceil(min_confidence * 255.0))
    if (threshold > 0 or want_confidence) and confidence is None:
        raise ValueError("min_confidence / want_confidence need the graph's confidence output")
    results: list[tuple[np.ndarray, np.ndarray | None]] = []
    for i, frame in enumerate(frames):
        labels = ids[i]
        if low and confidence is not None:
            # the graph's confidence is at the logits' resolution: one bilinear resize to the camera
            # size, then the gate on the camera-size mask
            mask = crop_and_resize(labels, frame, cv2.INTER_NEAREST_EXACT)
            conf_full = resize_low_plane(confidence[i], frame, ids.shape[1:])
            if threshold > 0:
                mask = np.where(conf_full < threshold, np.uint8(artifact.ignore_index), mask)
            results.append((mask, conf_full if want_confidence else None))
            continue
        if threshold > 0 and confidence is not None:
            labels = np.where(confidence[i] < threshold, np.uint8(artifact.ignore_index), labels)
        mask = crop_and_resize(labels, frame, cv2.INTER_NEAREST_EXACT)
        conf = (crop_and_resize(confidence[i], frame, cv2.INTER_NEAREST_EXACT)
                if want_confidence and confidence is not None else None)
        results.append((mask, conf))
    return results


def images_from_output(images: np.ndarray, frames: Sequence[Frame]) -> list[np.ndarray]:
    """(B, 3, h, w) float images in [0, 1] (RGB) -> uint8 (H, W, 3) RGB at each input's size."""
    if images.ndim != 4 or images.shape[1] != 3 or images.shape[0] != len(frames):
        raise ValueError(f"expected ({len(frames)}, 3, h, w) images, got {images.shape}")
    out = []
    for chw, frame in zip(images, frames):
        hwc = np.clip(np.rint(chw.transpose(1, 2, 0) * 255.0), 0, 255).astype(np.uint8)
        out.append(crop_and_resize(hwc, frame, cv2.INTER_LINEAR))
    return out
