"""mIoU over a fixed class set from condition_drive's replay_eval reports: the classes the drive's
ground truth holds (re-rendered here with training.scenes.drive, not read back from the bag), per
condition and overall. replay_eval's mIoU averages every class with a non-empty union, so a class
that only a model predicts (absent from the ground truth) adds a 0 to that model's mean.

    PYTHONPATH=. python docs/condition_drive/fixed_classes.py runs/conddrive/drive 40 64x128
"""
import json
import sys

import numpy as np

from training.scenes.drive import DriveSpec, render_drive

CONDITIONS = ("clear", "rain", "night")
RUNS = ("clear", "rain", "night", "switching", "switching+smoothing")

drive, n = sys.argv[1], int(sys.argv[2])
h, w = (int(v) for v in sys.argv[3].split("x"))
spec = DriveSpec(height=h, width=w, frames=3 * n, segments=tuple((c, n) for c in CONDITIONS))
counts = {c: np.zeros(256, np.int64) for c in CONDITIONS}
for frame in render_drive(seed=0, spec=spec):  # condition_drive's default --seed
    counts[frame.condition] += np.bincount(frame.label.ravel(), minlength=256)
present = {c: [k for k in range(19) if counts[c][k]] for c in CONDITIONS}
present["all"] = sorted(set().union(*present.values()))


def fixed(ious: list, classes: list[int]) -> float:
    return float(np.mean([ious[k] or 0.0 for k in classes]))  # a GT class always has a union


print("| run | overall | " + " | ".join(f"{c} ({len(present[c])})" for c in CONDITIONS) + " | pixel acc. |")
print("|---|---:|---:|---:|---:|---:|")
for run in RUNS:
    report = json.load(open(f"{drive}/{run}/report.json"))
    per = report["conditions"]["per_condition_scores"]
    cells = [fixed(report["scores"]["per_class_iou"], present["all"])]
    cells += [fixed(per[c]["per_class_iou"], present[c]) for c in CONDITIONS]
    cells.append(report["scores"]["pixel_accuracy"])
    print(f"| {run} | " + " | ".join(f"{v:.4f}" for v in cells) + " |")
print(f"\nGround-truth classes (train ids): {json.dumps(present)}")
