"""Score a mask restorer the paper's way, plus the reference rows.

Rows (one per mask that is fed to the frozen SPADE generator):
- "fine":       the real fine mask (the paper's "synthesis from the real fine mask" row; its
                pixel accuracy and mIoU are 100 by definition and left out);
- "incomplete": the incomplete mask itself ("no restoration"; unknown pixels count as wrong);
- "restored":   argmax of the mask generator's output.
Columns: pixel accuracy and mIoU of the mask vs the fine mask (percent); FID between images
synthesised from the mask and the real images; FCN-score (pix2pix): mIoU of a trained
segmenter on the synthesised images against the row's mask (train ids; unknown ignored).

FID features: pytorch-fid's Inception when its weights file is given ("features":
"inception"), else the encoder of the project segmenter given for the FCN-score, labelled
"segmenter": such values rank rows within one table and are not comparable to published FID.

Incomplete masks are made from each sample's index and `seed`, so every row and every
restorer of an ablation sees the same inputs.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from tqdm import tqdm

from training.data.cityscapes import label_id_to_train_id_lut
from training.metrics.fid import FeatureStats, frechet_distance, pooled_features
from training.metrics.segmentation import SegmentationMetric, metrics_from_confusion
from training.restoration.data import MaskImageDataset
from training.restoration.features import SegmenterFeatures
from training.restoration.frozen import load_frozen_spade, load_restorer
from training.restoration.inception import load_fid_inception
from training.restoration.incomplete import IncompleteConfig
from training.restoration.labels import UNKNOWN, fine_one_hot, ignore_index, incomplete_one_hot
from training.segmenter.evaluation import json_safe, load_segmenter, predict_logits

ROWS = ("fine", "incomplete", "restored")


@torch.no_grad()
def restore(mask_gen: torch.nn.Module, incomplete: torch.Tensor, k: int) -> torch.Tensor:
    """(B, H, W) incomplete ids (UNKNOWN gaps) -> (B, H, W) restored ids."""
    return mask_gen(incomplete_one_hot(incomplete, k)).argmax(1)


@torch.no_grad()
def evaluate_restorer(restorer: str | Path | None, *, root: str | Path, split: str,
                      spade: str | Path = "", segmenter: str | Path = "", inception: str | Path = "",
                      restore_task: str | None = None, incomplete: IncompleteConfig | None = None,
                      seed: int = 0, device: str = "cpu", limit: int = 0,
                      progress: bool = False) -> dict[str, Any]:
    """The rows above as {"rows": {row: {"pixel_acc", "mIoU", "FID", "FCN_mIoU"}}, "features", ...}.

    Args:
        restorer: a train-mask-restorer checkpoint; None scores only "fine" and "incomplete"
            (then restore_task and the SPADE/label settings come from `spade`).
        incomplete: how the incomplete masks are made when there is no restorer (its task is
            replaced by restore_task); with a restorer, its own training settings are used.
        spade: the frozen generator (default: the one the restorer was trained through).
        segmenter: a train-segmenter checkpoint for FCN-score (and the FID features when no
            Inception weights are given); empty leaves FCN-score out (null).
        inception: pytorch-fid Inception weights (`.pth`) for FID.
        limit: score at most this many images (0: all).
    """
    mask_gen, meta = load_restorer(restorer, device) if restorer else (None, {})
    if not (spade or meta.get("spade")):
        raise ValueError(f"{restorer} was trained without a SPADE generator (CE only); pass --spade RUN "
                         "to synthesise images for FID and FCN-score")
    generator, spade_meta = load_frozen_spade(spade or meta.get("spade", ""), device)
    scheme = meta.get("labels", spade_meta["labels"])
    if scheme != spade_meta["labels"]:
        raise ValueError(f"restorer uses {scheme} but the SPADE checkpoint {spade} uses "
                         f"{spade_meta['labels']}")
    k = int(spade_meta["num_classes"])
    if meta:
        inc_cfg = IncompleteConfig(**meta["incomplete"])
    else:
        inc_cfg = dataclasses.replace(incomplete or IncompleteConfig(),
                                      task=cast(Any, restore_task or "sparse"))
    size = meta.get("size", spade_meta["size"])
    ds = MaskImageDataset(root, split, labels=scheme, size=(size[0], size[1]), incomplete=inc_cfg)
    seg: SegmenterFeatures | None = None
    seg_meta: dict[str, Any] = {"num_classes": 19}
    if segmenter:
        model, seg_meta = load_segmenter(segmenter, device)
        seg = SegmenterFeatures(model, list(seg_meta["mean"]), list(seg_meta["std"])).to(device)
    fid_net: torch.nn.Module | None = load_fid_inception(inception).to(device) if inception else seg
    to_train = torch.from_numpy(label_id_to_train_id_lut().astype(np.int64)).to(device) \
        if scheme == "label_ids" else None
    rows = [r for r in ROWS if r != "restored" or mask_gen is not None]
    confusion = {r: torch.zeros(k + 1, k + 1, dtype=torch.int64) for r in rows}
    fcn = {r: SegmentationMetric(int(seg_meta["num_classes"]), device=device) for r in rows}
    feats = {r: FeatureStats() for r in (*rows, "real")}
    n = len(ds) if limit <= 0 else min(limit, len(ds))
    for index in tqdm(range(n), desc="evaluate-mask-restorer", disable=not progress):
        sample = ds[(index, seed * 1_000_003 + index)]
        image = sample["image"].unsqueeze(0).to(device)            # (1, 3, H, W)
        fine = sample["mask"].unsqueeze(0).to(device)              # (1, H, W)
        masks = {"fine": fine, "incomplete": sample["incomplete"].unsqueeze(0).to(device)}
        if mask_gen is not None:
            masks["restored"] = restore(mask_gen, masks["incomplete"], k)
        if fid_net is not None:
            feats["real"].add(pooled_features(fid_net, image))
        for row in rows:
            mask = masks[row]
            confusion[row] += _confusion(mask, fine, k, ignore_index(scheme)).cpu()
            synth = generator(fine_one_hot(mask, k))               # (1, 3, H, W); unknown = all-zero
            if fid_net is not None:
                feats[row].add(pooled_features(fid_net, synth))
            if seg is not None:
                pred = predict_logits(seg.model, synth, None, seg_meta["mean"], seg_meta["std"]).argmax(1)
                target = to_train[mask.clamp(max=255)] if to_train is not None else mask
                fcn[row].update(pred, torch.where(mask == UNKNOWN, torch.full_like(target, 255), target))
    out: dict[str, Any] = {"images": n, "task": inc_cfg.task, "labels": scheme,
                           "features": "inception" if inception else "segmenter" if seg is not None else None,
                           "rows": {}}
    for row in rows:
        scores: dict[str, Any] = _mask_scores(confusion[row], k) if row != "fine" \
            else {"pixel_acc": None, "mIoU": None}
        scores["FID"] = frechet_distance(*feats[row].stats(), *feats["real"].stats()) \
            if fid_net is not None else None
        scores["FCN_mIoU"] = fcn[row].compute()["mIoU"] if seg is not None else None
        out["rows"][row] = scores
    return json_safe(out)


def _confusion(pred: torch.Tensor, fine: torch.Tensor, k: int, ignore: int | None) -> torch.Tensor:
    """(k+1, k+1) counts; unknown predictions go to the extra column k (always wrong)."""
    p = torch.where(pred == UNKNOWN, torch.full_like(pred, k), pred).reshape(-1)
    t = fine.reshape(-1)
    valid = t != ignore if ignore is not None else torch.ones_like(t, dtype=torch.bool)
    index = t[valid] * (k + 1) + p[valid]
    return torch.bincount(index, minlength=(k + 1) ** 2).reshape(k + 1, k + 1)


def _mask_scores(matrix: torch.Tensor, k: int) -> dict[str, Any]:
    """Pixel accuracy and mIoU over the k real classes (the unknown column counts as wrong)."""
    m = metrics_from_confusion(matrix, [*(f"class_{i}" for i in range(k)), "unknown"])
    ious = np.array([m["per_class_iou"][f"class_{i}"] for i in range(k)], dtype=np.float64)
    miou = float(np.nanmean(ious)) if np.any(~np.isnan(ious)) else float("nan")
    return {"pixel_acc": m["aAcc"], "mIoU": miou}
