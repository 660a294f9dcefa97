"""Write samples in the shared layouts (Cityscapes twins, depth, Rain100H-style pairs, manifest).

OUT/cityscapes/leftImg8bit/<split>/synth/<stem>_leftImg8bit.png            clean day
OUT/cityscapes/gtFine/<split>/synth/<stem>_gtFine_labelIds.png | _labelTrainIds.png
OUT/cityscapes_rain/...   rainy twins, same stems and labels
OUT/cityscapes_night/...  night twins (only with --night)
OUT/depth/<split>/synth/<stem>_depth.png                                  uint16 centimetres
OUT/rain_pairs/<split>/rain/rain-<k>.png, norain/norain-<k>.png           k = 1.. within the split
OUT/manifest.jsonl
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

from rain_seg_ros.labels import IGNORE_INDEX, TRAIN_ID_TO_LABEL_ID
from training.scenes.sample import Sample

CITY = "synth"
SPLITS = ("train", "val", "test")
MANAGED = ("cityscapes", "cityscapes_rain", "cityscapes_night", "depth", "rain_pairs", "manifest.jsonl")

# trainId -> labelId; ignore (255) -> 0 ("unlabeled").
TRAIN_TO_LABEL_LUT = np.zeros(256, np.uint8)
TRAIN_TO_LABEL_LUT[: len(TRAIN_ID_TO_LABEL_ID)] = TRAIN_ID_TO_LABEL_ID
TRAIN_TO_LABEL_LUT[IGNORE_INDEX] = 0


def stem_of(index: int) -> str:
    """Cityscapes-style stem <city>_<seq:06d>_<frame:06d>."""
    return f"{CITY}_{index // 1_000_000:06d}_{index % 1_000_000:06d}"


def _png(array: np.ndarray) -> bytes:
    img = array[..., ::-1] if array.ndim == 3 else array  # cv2 wants BGR
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(img))
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return buf.tobytes()


def _put(root: Path, rel: str, data: bytes) -> str:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return rel


def depth_to_png(depth_m: np.ndarray) -> np.ndarray:
    """Metres -> uint16 centimetres (saturating at 655.35 m, which is also the sky value)."""
    return np.clip(np.round(depth_m * 100.0), 0, 65535).astype(np.uint16)


def write_sample(
    out: Path, sample: Sample, *, split: str, k: int, seed: int, lens_drops: bool
) -> dict[str, Any]:
    """Write one sample; returns its manifest record (paths relative to `out`)."""
    stem = stem_of(sample.index)
    train_ids = _png(sample.label)
    label_ids = _png(TRAIN_TO_LABEL_LUT[sample.label])
    files: dict[str, str] = {}
    twins = {"clean": ("cityscapes", sample.clean), "rain": ("cityscapes_rain", sample.rain)}
    if sample.night is not None:
        twins["night"] = ("cityscapes_night", sample.night)
    encoded = {}
    for name, (root, image) in twins.items():
        base = f"{split}/{CITY}/{stem}"
        encoded[name] = _png(image)
        files[name] = _put(out, f"{root}/leftImg8bit/{base}_leftImg8bit.png", encoded[name])
        files[f"{name}_labelIds"] = _put(out, f"{root}/gtFine/{base}_gtFine_labelIds.png", label_ids)
        files[f"{name}_labelTrainIds"] = _put(
            out, f"{root}/gtFine/{base}_gtFine_labelTrainIds.png", train_ids
        )
    files["depth"] = _put(out, f"depth/{split}/{CITY}/{stem}_depth.png", _png(depth_to_png(sample.depth)))
    files["pair_rain"] = _put(out, f"rain_pairs/{split}/rain/rain-{k}.png", encoded["rain"])
    files["pair_norain"] = _put(out, f"rain_pairs/{split}/norain/norain-{k}.png", encoded["clean"])
    cam = sample.layout.camera
    return {
        "index": sample.index,
        "stem": stem,
        "split": split,
        "city": CITY,
        "seed": seed,
        "sample_seed": sample.sample_seed,
        "rain_intensity": sample.rain_intensity,
        "night": sample.night is not None,
        "lens_drops": lens_drops,
        "pair_index": k,
        "height": cam.height,
        "width": cam.width,
        "camera": {
            "focal_px": round(cam.focal_px, 3),
            "cx": round(cam.cx, 3),
            "cy": round(cam.cy, 3),
            "mount_height_m": round(cam.mount_height_m, 3),
            "yaw_rad": round(cam.yaw_rad, 5),
        },
        "files": files,
    }
