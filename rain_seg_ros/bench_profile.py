"""`python -m rain_seg_ros.bench_profile`: where an in-graph segmenter spends time beyond the bare network.

ONNX Runtime's per-node profiler (SessionOptions.enable_profiling) times every kernel of
  bare       `<stem>-network.onnx` on a float (1, 3, H, W) batch (what python -m rain_seg_ros.bench
             calls bare)
  graph      `<stem>.onnx` on uint8 (1, H, W, 3), both outputs
  mask-only  the graph cut down to `mask` (what the backend runs when nobody wants the confidence)
and sums the kernel times per operator type. Per-kernel times are much less sensitive to other
processes than wall clock (a kernel's time only grows while it is descheduled), so the table says
where the time goes even on a shared machine; `--threads 1` makes it steadier still.

Example:
    python -m export.bench_models --out /tmp/m --sizes 512x1024 --formats onnx --models erf-pspnet-demo
    python -m rain_seg_ros.bench_profile --model /tmp/m/erf-pspnet-demo-512x1024.onnx --iters 10 --threads 1
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np

from rain_seg_ros.artifact import load_artifact
from rain_seg_ros.backends.onnxruntime import pruned_model
from rain_seg_ros.bench import NETWORK_SUFFIX


def profile_ops(model: str | bytes, feed: np.ndarray, outputs: list[str] | None, *, iters: int, warmup: int,
                threads: int) -> tuple[float, dict[str, float]]:
    """Mean ms per run of ONNX Runtime's model_run event, and of each operator type's kernels."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")   # as the backend runs
    options.intra_op_num_threads = threads
    with tempfile.TemporaryDirectory() as tmp:
        options.enable_profiling = True
        options.profile_file_prefix = os.path.join(tmp, "profile")
        session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        for _ in range(warmup + iters):
            session.run(outputs, {name: feed})
        events = json.loads(Path(session.end_profiling()).read_text())
    runs = [e for e in events if e.get("name") == "model_run"][warmup:]
    start = runs[0]["ts"]
    per_op: dict[str, float] = defaultdict(float)
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time") and e["ts"] >= start:
            per_op[e["args"]["op_name"]] += e["dur"] / 1e3 / len(runs)
    return sum(r["dur"] for r in runs) / 1e3 / len(runs), dict(per_op)


def profile_model(graph_path: Path, *, iters: int = 10, warmup: int = 3, threads: int = 0
                  ) -> dict[str, tuple[float, dict[str, float]]]:
    """{"bare" | "graph" | "mask-only": (model_run ms, {op type: ms})} for an in-graph export and
    the `-network` file beside it."""
    artifact = load_artifact(graph_path)
    network = graph_path.with_name(graph_path.stem + NETWORK_SUFFIX + ".onnx")
    if artifact.contract != "ids_confidence_u8" or not network.is_file():
        raise ValueError(f"{graph_path}: needs an ids_confidence_u8 export with {network.name} beside it "
                         f"(python -m export.bench_models writes both)")
    h, w = artifact.input_size
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (1, h, w, 3), dtype=np.uint8)
    x = rng.standard_normal((1, 3, h, w)).astype(np.float32)
    mask_only = pruned_model(graph_path, ["image"], ["mask"])
    settings: dict[str, tuple[str | bytes, np.ndarray]] = {
        "bare": (str(network), x), "graph": (str(graph_path), image), "mask-only": (mask_only, image)}
    return {mode: profile_ops(model, feed, None, iters=iters, warmup=warmup, threads=threads)
            for mode, (model, feed) in settings.items()}


def to_markdown(results: dict[str, tuple[float, dict[str, float]]], min_ms: float = 0.05) -> str:
    """Op types whose time differs from bare by at least min_ms, largest extra first, then totals."""
    ops = {op for _, per_op in results.values() for op in per_op}
    bare = results["bare"][1]
    extra = {op: max(abs(per_op.get(op, 0.0) - bare.get(op, 0.0)) for _, per_op in results.values())
             for op in ops}
    lines = ["| operator | bare ms | graph ms | mask-only ms | graph - bare |", "|---|---:|---:|---:|---:|"]
    modes = ("bare", "graph", "mask-only")

    def row(label: str, cells: list[float]) -> str:
        return f"| {label} | " + " | ".join(f"{c:.2f}" for c in cells) + f" | {cells[1] - cells[0]:+.2f} |"

    for op in sorted((o for o in ops if extra[o] >= min_ms),
                     key=lambda o: -(results["graph"][1].get(o, 0.0) - bare.get(o, 0.0))):
        lines.append(row(op, [results[m][1].get(op, 0.0) for m in modes]))
    lines.append(row("**all kernels**", [sum(results[m][1].values()) for m in modes]))
    lines.append(row("**model_run**", [results[m][0] for m in modes]))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rain_seg_ros.bench_profile", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True, nargs="+",
                        help="in-graph .onnx exports, each with its -network.onnx beside it")
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="intra-op threads (0: ONNX Runtime decides)")
    args = parser.parse_args(argv)
    if args.iters < 1 or args.warmup < 0 or args.threads < 0:
        parser.error("need --iters >= 1, --warmup >= 0, --threads >= 0")
    for path in args.model:
        try:
            results = profile_model(path, iters=args.iters, warmup=args.warmup, threads=args.threads)
        except (ValueError, FileNotFoundError) as exc:
            parser.exit(2, f"error: --model: {exc}\n")
        print(f"## {path.name}: kernel ms per run, {args.iters} runs, threads {args.threads or 'auto'}, "
              f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}\n")
        print(to_markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
