"""replay_eval's condition figures: mIoU per true condition, the condition estimator's accuracy
per frame, the model-switch log, and temporal consistency.

The true condition comes from the bag (make-drive-bag writes it on /ground_truth/condition as a
DiagnosticArray whose status message is the condition); the estimate and the active model from
segmentation_node's `~/condition` (values `condition` and `active_model`), matched by stamp.

Temporal consistency: among pixels whose ground truth does not change between two consecutive
frames (and is not ignore), the share whose predicted label does — label flicker that the scene
does not explain. Pairs are consecutive frames of the bag with both masks and ground truth.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from rain_seg_ros.replay.bag_io import BagError, bag_topics, read_topic
from rain_seg_ros.replay.metrics import confusion_matrix, scores_from_confusion

DIAGNOSTIC_ARRAY = "diagnostic_msgs/msg/DiagnosticArray"


def read_true_conditions(bag: Path, topic: str) -> dict[int, str] | None:
    """stamp_ns -> true condition from `topic` (None when the bag does not have it)."""
    topics = bag_topics(bag)
    if topic not in topics:
        return None
    if topics[topic] != DIAGNOSTIC_ARRAY:
        raise BagError(f"--truth-condition-topic {topic} is {topics[topic]}, not {DIAGNOSTIC_ARRAY}; "
                       f"record the true condition as make-drive-bag does or name another topic")
    out = {}
    for m in read_topic(bag, topic, max_bytes=64 << 20):
        if m.msg.status:
            out[m.stamp_ns] = str(m.msg.status[0].message)
    return out


def per_condition_scores(stamps: list[int], masks: dict[int, np.ndarray], gt: dict[int, np.ndarray],
                         truth: dict[int, str], num_classes: int) -> dict[str, dict[str, Any]]:
    """mIoU (and the rest of scores_from_confusion) over the frames of each true condition."""
    cms: dict[str, np.ndarray] = {}
    frames: Counter[str] = Counter()
    for s in stamps:
        if s in masks and s in gt and s in truth and masks[s].shape == gt[s].shape:
            cm = cms.setdefault(truth[s], np.zeros((num_classes, num_classes + 1), np.int64))
            cm += confusion_matrix(masks[s], gt[s], num_classes)
            frames[truth[s]] += 1
    return {c: {**scores_from_confusion(cm), "frames_scored": frames[c]} for c, cm in cms.items()}


def estimator_accuracy(stamps: list[int], estimated: dict[int, str], truth: dict[int, str]
                       ) -> dict[str, Any]:
    """Share of frames whose estimated condition is the true one, overall and per true condition,
    plus the confusion as {true: {estimated: frames}}."""
    pairs = [(truth[s], estimated[s]) for s in stamps if s in truth and s in estimated]
    confusion: dict[str, Counter[str]] = {}
    for t, e in pairs:
        confusion.setdefault(t, Counter())[e] += 1
    per = {t: c[t] / sum(c.values()) for t, c in confusion.items()}
    return {"accuracy": sum(t == e for t, e in pairs) / len(pairs) if pairs else None,
            "frames": len(pairs), "per_condition": per,
            "confusion": {t: dict(c) for t, c in confusion.items()}}


def switch_log(stamps: list[int], active: dict[int, str],
               truth: dict[int, str] | None) -> list[dict[str, Any]]:
    """One entry per change of the active model between consecutive frames with a ~/condition."""
    log, previous = [], None
    for i, s in enumerate(stamps):
        if s not in active:
            continue
        if previous is not None and active[s] != previous:
            log.append({"frame": i, "stamp_ns": s, "from": previous, "to": active[s],
                        "true_condition": (truth or {}).get(s)})
        previous = active[s]
    return log


def temporal_consistency(stamps: list[int], masks: dict[int, np.ndarray], gt: dict[int, np.ndarray],
                         ignore: int = 255) -> dict[str, Any]:
    """Share of GT-stable pixels whose predicted label flips between consecutive frames."""
    flips = stable = pairs = 0
    for a, b in zip(stamps, stamps[1:]):
        if not all(s in masks and s in gt for s in (a, b)) or masks[a].shape != masks[b].shape \
                or gt[a].shape != masks[a].shape or gt[b].shape != masks[b].shape:
            continue
        keep = (gt[a] == gt[b]) & (gt[a] != ignore)
        stable += int(keep.sum())
        flips += int((masks[a] != masks[b])[keep].sum())
        pairs += 1
    return {"flip_share": flips / stable if stable else None, "stable_pixels": stable, "frame_pairs": pairs}


def markdown(section: dict[str, Any]) -> list[str]:
    """report.md lines for report["conditions"]."""
    lines = ["## Conditions", ""]
    per = section.get("per_condition_scores") or {}
    if per:
        lines += ["| true condition | frames | mIoU |", "|---|---:|---:|"]
        lines += [f"| {c} | {s['frames_scored']} | {s['miou']:.4f} |" for c, s in per.items()] + [""]
    acc = section.get("estimator")
    if acc and acc["accuracy"] is not None:
        lines.append(f"Condition estimator: {acc['accuracy']:.1%} of {acc['frames']} frames right ("
                     + ", ".join(f"{c} {v:.1%}" for c, v in acc["per_condition"].items()) + ").")
    tc = section.get("temporal_consistency")
    if tc and tc["flip_share"] is not None:
        lines.append(f"Temporal consistency: {tc['flip_share']:.4f} of the pixels whose ground truth "
                     f"stays put flip their predicted label between consecutive frames "
                     f"({tc['frame_pairs']} pairs).")
    log = section.get("switch_log") or []
    lines += ["", f"Model switches: {len(log)}."]
    if log:
        lines += ["", "| frame | from | to | true condition |", "|---:|---|---|---|"]
        lines += [f"| {e['frame']} | {e['from']} | {e['to']} | {e['true_condition'] or '-'} |" for e in log]
    return lines + [""]
