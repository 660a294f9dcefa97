"""gpu.md of scripts/gpu_check.py: machine facts first, then one table per stage and the stage log."""

from __future__ import annotations

from typing import Any


def num(value: float | None, fmt: str = ".2f") -> str:
    return "-" if value is None else format(value, fmt)


def table(head: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head),
            *("| " + " | ".join(r) + " |" for r in rows), ""]


def to_markdown(report: dict[str, Any]) -> str:
    """gpu.md: machine facts first, then one table per stage and the stage log."""
    m, plan = report["machine"], report["plan"]
    lines = ["# GPU check", "", "Written by `scripts/gpu_check.sh` (scripts/gpu_check.py); "
             "every number comes from the project's own commands, listed in the stage log below.", ""]
    if report["mode"] == "cpu":
        lines += ["**CPU mode: toy sizes on the CPU. These numbers say nothing about a GPU.**", ""]
    facts = ["gpu", "driver", "cuda", "cudnn", "torch", "onnxruntime", "onnxruntime_providers", "cpu",
             "logical_cores", "memory_gb", "python", "platform"]
    lines += [f"- {k}: {m[k]}" for k in facts if k in m]
    lines += [f"- date: {report['date']}", f"- command: `{report.get('command', '')}`", ""]
    lines += [f"**Note: {n}**\n" for n in report.get("notes", [])]
    lines += ["## Training steps/s (random init; AMP fp16 on CUDA, fp32 on the CPU)", ""]
    lines += table(["trainer", "crop", "batch", "steps", "steps/s", "images/s"],
                   [[r["trainer"], r["size"], str(r["batch"]), str(r["steps"]), num(r["steps_per_s"]),
                     num(r["images_per_s"], ".1f")] for r in report["training"]])
    lines += ["## Export (`python -m export onnx|pt2`)", ""]
    lines += table(["model", "input", "format", "seconds", "MB"],
                   [[r["model"], r["size"], r["format"], num(r["seconds"], ".1f"), num(r["mb"], ".1f")]
                    for r in report["exports"]])
    lines += ["## Parity (`python -m export verify`: exported model on the device vs PyTorch fp32 on "
              f"the CPU, rtol {plan['rtol']:g})", ""]
    lines += table(["model", "input", "backend", "device", "max abs", "max rel", "LSB", "agree", "verdict"],
                   [[r["model"], r["size"], r["backend"], r["device"], num(r["max_abs"], ".2e"),
                     num(r["max_rel"], ".2e"), num(r.get("max_lsb"), "d"),
                     num(None if r["agreement"] is None else 100 * r["agreement"], ".3f") + "%", r["verdict"]]
                    for r in report["parity"]])
    lines += [f"## Latency (`python -m rain_seg_ros.bench`, batch 1, {plan['warmup']} warm-up + "
              f"{plan['iters']} timed runs)", "",
              "bare = the model on a preprocessed batch (host<->device copies included); e2e = uint8 "
              "frames -> preprocess -> model -> argmax/confidence/resize. bench reports p50/p90/p99.", ""]
    lines += table(["model", "input", "backend", "precision", "mode", "p50 ms", "p90 ms", "p99 ms", "img/s"],
                   [[r["model"], r["resolution"], r["backend"], "fp16" if r["backend"].endswith("fp16")
                     else "fp32", r["mode"], num(r["p50_ms"]), num(r["p90_ms"]), num(r["p99_ms"]),
                     num(r["throughput_ips"], ".1f")] for r in report["latency"]])
    lines += ["## Stage log", ""]
    lines += table(["stage", "status", "seconds", "detail"],
                   [[s["stage"], s["status"], num(s["seconds"], ".1f"), s["detail"].replace("|", "/")]
                    for s in report["stages"]])
    return "\n".join(lines)


# ---- the run ---------------------------------------------------------------------------------
