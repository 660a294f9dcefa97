"""`make demo`'s figure and summary (scripts/demo.py calls these): the overlay strip, one row per
condition of the clear -> rain -> night drive labelled with what segmentation_node published on
~/condition, and the summary tables, all read from the drive bag and the replays' outputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

CONDITIONS = ("clear", "rain", "night")
TITLES = {"clean": "ERF-PSPNet, clean-trained (as many steps as rain-ft)",
          "rain": "ERF-PSPNet, rain-fine-tuned (DSANet rainify)",
          "night": "ERF-PSPNet, night-fine-tuned (labelled night twins)",
          "switching": "switching graph (estimator + the three above)"}
SHORT = {"clean": "clean-trained model", "rain": "rain-fine-tuned model", "night": "night-fine-tuned model",
         "switching": "switching graph"}
COLUMNS = ("input", "clean-trained", "rain-fine-tuned", "night-fine-tuned", "switching graph", "ground truth")


def published_by_stamp(report: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """stamp_ns -> what the node published on ~/condition for that frame (replay_eval's report)."""
    return {p["stamp_ns"]: p for p in report.get("conditions", {}).get("published", [])}


def row_frames(truth: dict[int, str], stamps: list[int]) -> dict[str, int]:
    """Per condition, the middle frame of its part of the drive (among the frames with masks)."""
    out = {}
    for condition in CONDITIONS:
        part = [s for s in stamps if truth.get(s) == condition]
        if part:
            out[condition] = part[len(part) // 2]
    return out


def stage_strip(out: Path, bag: Path, image_topic: str, gt_topic: str, names: tuple[str, ...]) -> Path:
    """One row per condition: input | each single model | the switching graph | ground truth, the
    masks as segmentation_node published them (replay output bags); above each row the true
    condition, the condition the node published for that frame and the model that served it."""
    from PIL import Image, ImageDraw

    from rain_seg_ros.codec import image_to_array
    from rain_seg_ros.labels import IGNORE_INDEX, colorize
    from rain_seg_ros.replay.bag_io import read_topic
    from rain_seg_ros.replay.condition_metrics import read_true_conditions

    def by_stamp(path: Path, topic: str) -> dict[int, np.ndarray]:
        return {m.stamp_ns: image_to_array(m.msg) for m in read_topic(path, topic)}

    rgb, gt = by_stamp(bag, image_topic), by_stamp(bag, gt_topic)
    truth = read_true_conditions(bag, "/ground_truth/condition") or {}
    masks = {name: by_stamp(out / f"replay_{name}" / "masks_bag", "/replay/mask") for name in names}
    said = published_by_stamp(json.loads((out / "replay_switching" / "report.json").read_text()))
    stamps = sorted(set(rgb).intersection(*masks.values()))
    if not stamps:
        raise SystemExit("demo: no frame has masks from every run: nothing to draw")

    def overlay(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        blend = (0.45 * image + 0.55 * colorize(mask)).astype(np.uint8)
        return np.where((mask == IGNORE_INDEX)[..., None], image, blend)

    def panels(s: int) -> np.ndarray:  # (H, 6W, 3)
        views = [overlay(rgb[s], masks[n][s]) for n in names]
        return np.concatenate([rgb[s], *views, overlay(rgb[s], gt[s])], axis=1)

    def caption(text: str, width: int) -> np.ndarray:
        bar = Image.new("RGB", (width, 16), (255, 255, 255))
        ImageDraw.Draw(bar).text((4, 2), text, fill=(0, 0, 0))
        return np.asarray(bar)

    width = rgb[stamps[0]].shape[1]
    header = Image.new("RGB", (width * len(COLUMNS), 18), (255, 255, 255))
    for i, title in enumerate(COLUMNS):
        ImageDraw.Draw(header).text((i * width + 4, 3), title, fill=(0, 0, 0))
    rows = [np.asarray(header)]
    for condition, s in row_frames(truth, stamps).items():
        node = said.get(s, {})
        active = node.get("active_model", "-")
        active = "clean (model_path)" if active == "default" else active
        rows.append(caption(f"frame {stamps.index(s)}: true condition {condition}  |  ~/condition "
                            f"{node.get('condition', '-')}  |  active model {active}", width * len(COLUMNS)))
        rows.append(panels(s))
    strip = out / "overlay_strip.png"
    Image.fromarray(np.concatenate(rows, axis=0)).save(strip)
    frames = [Image.fromarray(panels(s)) for s in stamps]
    frames[0].save(out / "overlay.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
    print(f"overlay strip: {strip} ({len(rows) // 2} conditions), animation: {out / 'overlay.gif'}")
    return strip


def stage_summary(out: Path, summary: dict[str, Any], reports: dict[str, dict]) -> str:
    """summary.md: the whole drive per model, the rain and night comparisons on their parts, the
    switching graph's estimator and switches, and the stage wall times."""
    rows = ["| model | mIoU, whole drive (%) | clear part | rain part | night part | pixel acc. (%) "
            "| frames scored / sent | latency p50 / p95 (ms) | output FPS |", "|---|" + "---:|" * 8]
    part: dict[str, dict[str, float | None]] = {}
    for name, rep in reports.items():
        sc, lat, run = rep["scores"], rep["latency_ms"], rep["run"]
        per = rep.get("conditions", {}).get("per_condition_scores", {})
        part[name] = {c: s["miou"] for c, s in per.items()}
        cells = " | ".join("-" if per.get(c, {}).get("miou") is None else f"{100 * per[c]['miou']:.1f}"
                           for c in CONDITIONS)
        rows.append(f"| {TITLES[name]} | {100 * sc['miou']:.1f} | {cells} | "
                    f"{100 * sc['pixel_accuracy']:.1f} | {sc['frames_scored']} / {run['frames_sent']} | "
                    f"{lat['p50']:.1f} / {lat['p95']:.1f} | "
                    f"{run['output_fps']:.1f} |")
        summary[f"miou_{name}"] = sc["miou"]
        summary[f"miou_per_condition_{name}"] = part[name]

    def versus(a: str, b: str, where: str | None = None) -> str:
        """One sentence: model a against model b on one part of the drive or on all of it."""
        first, second = (part[n].get(where) if where else reports[n]["scores"]["miou"] for n in (a, b))
        if first is None or second is None:
            return f"The {SHORT[a]} and the {SHORT[b]} were not both scored on the {where} part."
        diff = 100 * (first - second)
        verb = "is level with" if abs(diff) < 0.05 else "beats" if diff > 0 else "does not beat"
        return (f"The {SHORT[a]} {verb} the {SHORT[b]} "
                f"{f'on the {where} part' if where else 'on the whole drive'} ({diff:+.1f} mIoU points).")

    verdicts = [versus("rain", "clean", "rain"), versus("night", "clean", "night")]
    verdicts += [versus("switching", single) for single in ("clean", "rain", "night")]
    cond = reports["switching"].get("conditions", {})
    est = cond.get("estimator") or {}
    log = cond.get("switch_log", [])
    summary["estimator_accuracy"] = est.get("accuracy")
    summary["switch_log"] = log
    estimator = (f"Condition estimator on the drive: {100 * est['accuracy']:.1f} % of {est['frames']} frames "
                 "right; switches: " + (", ".join(f"frame {e['frame']} {e['from']} -> {e['to']}" for e in log)
                                        or "none") + ".") if est.get("accuracy") is not None else ""
    stages = "\n".join(f"| {k} | {v} |" for k, v in summary["stages_s"].items())
    seed = f"Training seed {summary['seed']} (`scripts/demo.py --seed`).\n\n" if "seed" in summary else ""
    if "dsanet" in summary:
        seed += f"DSANet: the trained run `{summary['dsanet']}` (`--dsanet`, not trained here).\n\n"
    text = (f"# Demo summary\n\n{seed}{chr(10).join(rows)}\n\n" + "\n".join(f"- {v}" for v in verdicts)
            + f"\n\n{estimator}\n\nReplay: {reports['clean']['rate']} x recorded rate (0 = as fast as the "
            "graph keeps up), backend onnxruntime (CPU). Parts = the frames of each true condition "
            "(per_condition_scores of replay_eval).\n\n| stage | wall (s) |\n|---|---:|\n" + stages + "\n")
    (out / "summary.md").write_text(text)
    print("\n" + text)
    return text
