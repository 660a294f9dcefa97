"""Replay report: JSON (machine-readable), Markdown (for people) and PNG plots (matplotlib)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np


def latency_summary(latencies_ms: list[float]) -> dict[str, float]:
    if not latencies_ms:
        return {"p50": math.nan, "p95": math.nan, "p99": math.nan, "mean": math.nan, "max": math.nan}
    values = np.asarray(latencies_ms, dtype=np.float64)
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return {"p50": float(p50), "p95": float(p95), "p99": float(p99), "mean": float(values.mean()),
            "max": float(values.max())}


STAGES = ("decode", "preprocess", "infer", "postprocess", "publish")


def latency_breakdown(e2e_mean_ms: float, node: dict[str, str]) -> dict[str, float] | None:
    """Mean ms per stage of one frame's trip, from the replay's end-to-end mean and the node's
    own diagnostics (receipt -> publish and per-stage means over the same frames).

    transport = end-to-end - node latency (both DDS hops, serialisation, delivery to callbacks);
    queue = node latency - stage sum (waiting for the worker, hand-over between threads);
    node_overhead = decode + publish + queue: what the ROS node adds around the model runtime.
    """
    try:
        node_ms = float(node["latency_mean_ms"])
        stages = {s: float(node[f"{s}_mean_ms"]) for s in STAGES}
    except (KeyError, ValueError):
        return None
    out = {"transport": e2e_mean_ms - node_ms, **stages, "queue": node_ms - sum(stages.values())}
    out["node_overhead"] = stages["decode"] + stages["publish"] + out["queue"]
    out["total"] = e2e_mean_ms
    return out


def plot(out_dir: Path, latencies_ms: list[float], receipt_s: list[float], per_class_iou: list[Any] | None,
         class_names: list[str]) -> list[str]:
    """Latency histogram + timeline, and per-class IoU bars when scored. Returns file names."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    names = []
    fig, (ax_hist, ax_time) = plt.subplots(1, 2, figsize=(11, 3.5))
    ax_hist.hist(latencies_ms, bins=40, color="#3070b0")
    ax_hist.set(xlabel="latency publish -> mask (ms)", ylabel="frames", title="Latency")
    t = np.asarray(receipt_s) - (receipt_s[0] if receipt_s else 0.0)
    ax_time.plot(t, latencies_ms, ".", markersize=3)
    ax_time.set(xlabel="time since first mask (s)", ylabel="latency (ms)", title="Latency over the replay")
    fig.tight_layout()
    fig.savefig(out_dir / "latency.png", dpi=100)
    plt.close(fig)
    names.append("latency.png")
    if per_class_iou is not None:
        fig, ax = plt.subplots(figsize=(11, 3.5))
        values = [np.nan if v is None else v for v in per_class_iou]
        labels = class_names if len(class_names) == len(values) else [str(i) for i in range(len(values))]
        ax.bar(range(len(values)), values, color="#50a050")
        ax.set_xticks(range(len(values)), labels, rotation=60, ha="right", fontsize=8)
        ax.set(ylim=(0, 1), ylabel="IoU", title="Per-class IoU (gaps: class absent)")
        fig.tight_layout()
        fig.savefig(out_dir / "iou_per_class.png", dpi=100)
        plt.close(fig)
        names.append("iou_per_class.png")
    return names


def _where_frames_went(report: dict[str, Any]) -> list[str]:
    """Lines that tell lost frames in transport from frames dropped by the node, and flag a
    replay process that itself stopped running (then it, not the graph, was late)."""
    lines = []
    node = report.get("node_diagnostics") or {}
    run = report["run"]
    if "received" in node and "dropped" in node:
        lines.append(f"Frames that reached segmentation_node: {node['received']} of "
                     f"{run['frames_sent']}; dropped there because a newer frame was waiting: "
                     f"{node['dropped']}.")
    if run.get("rejected"):
        lines.append(f"Frames segmentation_node rejected as bad (not counted as dropped): {run['rejected']}"
                     + (f"; its last error: `{node['last_error']}`." if node.get("last_error") else "."))
    if run.get("processing_errors"):
        lines.append(f"Frames segmentation_node failed to process: {run['processing_errors']}.")
    host = report.get("host_stalls")
    if host:
        lines.append(f"Replay process scheduling: longest late wake-up of a {host['period_ms']:g} ms timer "
                     f"{host['longest_ms']:.0f} ms, {host['over_100ms']} over 100 ms (a late wake-up means "
                     f"this process itself was not running Python: a starved machine or a thread holding "
                     f"the GIL).")
    return lines + [""] if lines else []


def _count(value: int | None) -> str:
    return "-" if value is None else str(value)  # None: the node published no diagnostics


def write_report(out_dir: Path, report: dict[str, Any], plots: list[str]) -> tuple[Path, Path]:
    """report.json and report.md in out_dir."""
    json_path = out_dir / "report.json"
    json_path.write_text(json.dumps(report, indent=2, allow_nan=True))
    lat, run, scores = report["latency_ms"], report["run"], report.get("scores")
    rate = report["rate"]
    rate_text = "as fast as the graph keeps up" if rate <= 0 else f"{rate:g}x recorded"
    lines = [
        f"# Replay report: `{report['bag']}`", "",
        f"Image topic `{report['image_topic']}` -> mask topic `{report['mask_topic']}`; "
        f"rate {rate_text}.",
        "", "| frames sent | masks received | rejected | dropped | drop rate | output FPS "
        "| latency p50 / p95 / p99 (ms) |",
        "|---:|---:|---:|---:|---:|---:|---|",
        f"| {run['frames_sent']} | {run['masks_received']} | {_count(run.get('rejected'))} "
        f"| {run['dropped']} | {run['drop_rate']:.3f} "
        f"| {run['output_fps']:.2f} | {lat['p50']:.1f} / {lat['p95']:.1f} / {lat['p99']:.1f} |", "",
        "Rejected: frames the node refused as bad (undecodable, wrong size); dropped: the rest of the "
        "frames without a mask (replaced by a newer frame, or lost in transport).", "",
        "Latency runs from the replay's publish to the mask's arrival back in the replay process "
        "(transport both ways included).", "",
    ]
    lines += _where_frames_went(report)
    if scores is not None:
        lines += [f"**mIoU {scores['miou']:.4f}** over {scores['frames_scored']} frames "
                  f"(pixel accuracy {scores['pixel_accuracy']:.4f}; "
                  f"ground truth: {report['ground_truth']}).", "",
                  "| class | IoU |", "|---|---:|"]
        names = report.get("class_names") or [str(i) for i in range(len(scores["per_class_iou"]))]
        for name, iou in zip(names, scores["per_class_iou"]):
            lines.append(f"| {name} | {'-' if iou is None else f'{iou:.4f}'} |")
        lines.append("")
    if report.get("conditions"):
        from rain_seg_ros.replay.condition_metrics import markdown

        lines += markdown(report["conditions"])
    breakdown = report.get("breakdown_ms")
    if breakdown:
        total = breakdown["total"]
        lines += ["Mean latency breakdown of one frame (see docs/ros.md for how each part is measured):", "",
                  "| stage | ms | share |", "|---|---:|---:|"]
        for stage in ("transport", *STAGES, "queue", "node_overhead", "total"):
            lines.append(f"| {stage} | {breakdown[stage]:.2f} | {breakdown[stage] / total:.1%} |")
        lines.append("")
    if report.get("node_diagnostics"):
        lines += ["Last diagnostics of segmentation_node:", "", "| key | value |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in report["node_diagnostics"].items()] + [""]
    lines += [f"![{name}]({name})" for name in plots]
    if report.get("output_bag"):
        lines += ["", f"Masks written to `{report['output_bag']}` (open it in Foxglove)."]
    md_path = out_dir / "report.md"
    md_path.write_text("\n".join(lines) + "\n")
    return json_path, md_path
