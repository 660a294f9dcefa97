"""`python -m rain_seg_ros.bench`: latency and throughput of exported segmenters per backend.

For every model (an exported `.onnx`/`.pt2` stem with its sidecar) and backend, it times
  bare            runner.infer of the bare network on a normalised float batch (the model alone,
                  host<->device copies included): `<stem>-network` when the stem has results in
                  the graph (python -m export.bench_models writes both), else the stem itself
  e2e             Segmenter.segment_batch on uint8 RGB frames, confidence wanted: everything
                  the node does per frame but decoding (resize, the graph, resize back)
  e2e-mask-only   the same with want_confidence=False (nobody subscribes to the confidence)
  e2e-float-path  Segmenter on `<stem>-network`: the host-side path older exports take
and reports p50/p90/p99 latency, throughput, p50 / bare p50 ("x bare"), the model's FLOPs
(torch.utils.flop_counter on the `.pt2` program, per image) and achieved GFLOP/s (bare p50).
The modes of one model are timed interleaved (bare, e2e, ... bare, e2e, ...), so load from
other processes shifts them alike and "x bare" is a ratio within one run. A `.pt2` is a PyTorch program
that can run code when loaded: the torch backends and the FLOP count need --trust-pt2.
Machine facts (CPU model, cores, load average before/after) go into the Markdown and JSON
outputs, since timings on a shared machine mean little without them. Models for it:
`python -m export.bench_models`.

Example:
    python -m export.bench_models --out artifacts/bench --sizes 256x512 512x1024
    python -m rain_seg_ros.bench --models artifacts/bench --backends onnxruntime torch --trust-pt2 \
        --warmup 5 --iters 50 --out-dir docs/benchmarks --name cpu
    # issue 13's must-show: e2e vs bare at 512x1024 (docs/benchmarks/README.md)
    python -m export.bench_models --out artifacts/bench-e2e --sizes 512x1024 --formats onnx \
        --models segformer-b0 erf-pspnet erf-pspnet-demo && \
    python -m rain_seg_ros.bench --models artifacts/bench-e2e --warmup 3 --iters 15 --name cpu_e2e
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rain_seg_ros.artifact import load_artifact
from rain_seg_ros.segmenter import Segmenter

SUFFIX = {"onnxruntime": ".onnx", "torch": ".pt2", "torch-fp16": ".pt2", "tensorrt": ".onnx"}
NETWORK_SUFFIX = "-network"   # export.bench_models' bare network beside a graph with results inside


@dataclass
class Row:
    model: str
    resolution: str          # model input "HxW"
    backend: str
    device: str
    batch: int
    mode: str                # "bare" | "e2e" | "e2e-mask-only" | "e2e-float-path"
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    throughput_ips: float    # images per second, from the mean latency
    gflops: float | None     # per image
    achieved_gflops_s: float | None
    over_bare: float | None = None   # p50 / bare p50 of the same model, backend and run


def machine_facts() -> dict[str, object]:
    import psutil

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    facts: dict[str, object] = {"cpu": cpu, "logical_cores": os.cpu_count(),
                                "physical_cores": psutil.cpu_count(logical=False),
                                "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
                                "platform": platform.platform(), "python": platform.python_version()}
    for name in ("torch", "onnxruntime"):
        try:
            facts[name] = __import__(name).__version__
        except ImportError:
            continue
    import torch

    facts["torch_threads"] = torch.get_num_threads()
    if torch.cuda.is_available():
        facts["gpu"] = torch.cuda.get_device_name(0)
    return facts


def count_flops(pt2_path: Path, trust_pt2: bool = False) -> float | None:
    """FLOPs of one image through the .pt2 program (FlopCounterMode counts a multiply-add as 2);
    None without the file or without trust (loading a .pt2 can run code)."""
    if not pt2_path.is_file() or not trust_pt2:
        return None
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    artifact = load_artifact(pt2_path)
    module = torch.export.load(str(pt2_path)).module()
    shape = [1 if not isinstance(d, int) else d for d in artifact.input.shape]
    dtype = torch.uint8 if artifact.input.dtype == "uint8" else torch.float32
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        module(torch.zeros(shape, dtype=dtype))
    return counter.get_total_flops() / shape[0]


def time_ms(fn: Callable[[], object], warmup: int, iters: int) -> np.ndarray:
    for _ in range(warmup):
        fn()
    out = np.empty(iters)
    for i in range(iters):
        t0 = time.perf_counter()
        fn()
        out[i] = (time.perf_counter() - t0) * 1e3
    return out


def time_interleaved(fns: dict[str, Callable[[], object]], warmup: int, iters: int) -> dict[str, np.ndarray]:
    """Latencies in ms of each function, run in turn each iteration so that load drift hits all alike."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    out = {name: np.empty(iters) for name in fns}
    for i in range(iters):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            out[name][i] = (time.perf_counter() - t0) * 1e3
    return out


def make_row(setting: dict[str, Any], mode: str, times: np.ndarray, flops: float | None) -> Row:
    """A Row from latencies in ms; setting holds model, resolution, backend, device and batch."""
    p50, p90, p99 = (float(v) for v in np.percentile(times, [50, 90, 99]))
    mean = float(times.mean())
    batch = int(setting["batch"])
    gflops = flops / 1e9 if flops is not None else None
    achieved = gflops * batch / (p50 / 1e3) if gflops is not None and mode == "bare" else None
    return Row(**setting, mode=mode, p50_ms=p50, p90_ms=p90, p99_ms=p99, mean_ms=mean,
               throughput_ips=batch / (mean / 1e3), gflops=gflops, achieved_gflops_s=achieved)


def bench_model(stem: Path, backend: str, *, device: str, batch: int, warmup: int, iters: int,
                flops: float | None, trust_pt2: bool = False) -> list[Row]:
    """Rows of every mode (module docstring) for one model file stem and one backend."""
    path = stem.with_suffix(SUFFIX[backend])
    network = stem.with_name(stem.name + NETWORK_SUFFIX).with_suffix(SUFFIX[backend])
    half = backend == "torch-fp16"

    def open_segmenter(file: Path) -> Segmenter:
        return Segmenter(file, backend="torch" if half else backend, device=device,
                         precision="fp16" if half else "auto", trust_pt2=trust_pt2)

    with ExitStack() as stack:
        seg = stack.enter_context(open_segmenter(path))
        in_graph = seg.artifact.contract == "ids_confidence_u8"
        old = stack.enter_context(open_segmenter(network)) if in_graph and network.is_file() else None
        art = seg.artifact
        h, w = art.input_size
        if not art.dynamic_batch and art.input.shape[0] != batch:
            raise ValueError(f"{path.name} has a static batch of {art.input.shape[0]}, asked for {batch}")
        rng = np.random.default_rng(0)
        x = rng.standard_normal((batch, 3, h, w)).astype(np.float32)
        frames = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(batch)]
        fns: dict[str, Callable[[], object]] = {}
        if old is not None or not in_graph:
            bare_runner = (old or seg).runner
            fns["bare"] = lambda: bare_runner.infer(x)
        fns["e2e"] = lambda: seg.segment_batch(frames)
        if in_graph:
            fns["e2e-mask-only"] = lambda: seg.segment_batch(frames, want_confidence=False)
        if old is not None:
            fns["e2e-float-path"] = lambda: old.segment_batch(frames)
        times = time_interleaved(fns, warmup, iters)
        name = re.sub(r"-\d+x\d+$", "", stem.name)   # "segformer-b0-256x512" -> "segformer-b0"
        setting = {"model": name, "resolution": f"{h}x{w}", "backend": backend,
                   "device": seg.runner.device, "batch": batch}
        rows = [make_row(setting, mode, t, flops) for mode, t in times.items()]
    bare_p50 = rows[0].p50_ms if rows[0].mode == "bare" else None
    for row in rows:
        row.over_bare = row.p50_ms / bare_p50 if bare_p50 else None
    return rows


def find_models(paths: list[Path]) -> list[Path]:
    """Model stems (path without suffix) of segmentation artifacts in the given files/folders."""
    files: list[Path] = []
    for p in paths:
        files += sorted(p.glob("*.onnx")) + sorted(p.glob("*.pt2")) if p.is_dir() else [p]
    stems = sorted({f.with_suffix("") for f in files if f.suffix in (".onnx", ".pt2")})
    # a bare network beside its graph is that graph's "bare" reference, not a model of its own
    stems = [s for s in stems if not (s.name.endswith(NETWORK_SUFFIX) and
                                      s.with_name(s.name.removesuffix(NETWORK_SUFFIX) + ".json").is_file())]
    return [s for s in stems if load_artifact(s.with_suffix(".json")).task == "segmentation"]


def to_markdown(rows: list[Row], facts: dict[str, object], command: str) -> str:
    lines = ["# Segmenter inference benchmark", "", f"Command: `{command}`", "",
             "Machine: " + ", ".join(f"{k} {v}" for k, v in facts.items()), "",
             "| model | input | backend | device | batch | mode | p50 ms | p90 ms | p99 ms | x bare | img/s "
             "| GFLOPs/img | GFLOP/s |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        gf = f"{r.gflops:.2f}" if r.gflops is not None else "-"
        ach = f"{r.achieved_gflops_s:.1f}" if r.achieved_gflops_s is not None else "-"
        ratio = f"{r.over_bare:.2f}" if r.over_bare is not None else "-"
        lines.append(f"| {r.model} | {r.resolution} | {r.backend} | {r.device} | {r.batch} | {r.mode} | "
                     f"{r.p50_ms:.2f} | {r.p90_ms:.2f} | {r.p99_ms:.2f} | {ratio} | {r.throughput_ips:.2f} | "
                     f"{gf} | {ach} |")
    lines += ["", "bare = the network alone on a normalised float batch; e2e = Segmenter.segment_batch on "
              "uint8 frames of the model's size (resize, model with argmax/confidence, resize back), "
              "confidence wanted; e2e-mask-only = the same without confidence; e2e-float-path = the "
              "float-logit export through the host-side path of older exports. x bare = p50 / bare p50, "
              "modes timed interleaved in this run. GFLOP/s from bare p50."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rain_seg_ros.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", type=Path, required=True, help="model files or folders")
    parser.add_argument("--backends", nargs="+", default=["onnxruntime"], choices=sorted(SUFFIX))
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--iters", type=int, default=50)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: leave as is)")
    parser.add_argument("--out-dir", type=Path, default=Path("docs/benchmarks"))
    parser.add_argument("--name", default="results", help="output file stem (NAME.md, NAME.json)")
    parser.add_argument("--trust-pt2", action="store_true",
                        help="load .pt2 programs (torch backends, FLOP count); they can run code when "
                             "loaded, so give this only for files you made or trust")
    args = parser.parse_args(argv)
    if args.batch < 1 or args.iters < 1 or args.warmup < 0:
        parser.error("need --batch >= 1, --iters >= 1, --warmup >= 0")
    torch_backends = [b for b in args.backends if SUFFIX[b] == ".pt2"]
    if torch_backends and not args.trust_pt2:
        parser.error(f"--backends {' '.join(torch_backends)} load .pt2 programs, which can run code when "
                     f"loaded: add --trust-pt2 if you trust their source")
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    stems = find_models(args.models)
    if not stems:
        parser.error(f"no exported segmentation models in {args.models}")
    load_before = os.getloadavg()
    rows: list[Row] = []
    from tqdm import tqdm

    for stem in tqdm(stems, desc="models", unit="model"):
        network = stem.with_name(stem.name + NETWORK_SUFFIX).with_suffix(".pt2")
        flops = count_flops(network if network.is_file() else stem.with_suffix(".pt2"), args.trust_pt2)
        for backend in args.backends:
            if not stem.with_suffix(SUFFIX[backend]).is_file():
                continue
            rows += bench_model(stem, backend, device=args.device, batch=args.batch, warmup=args.warmup,
                                iters=args.iters, flops=flops, trust_pt2=args.trust_pt2)
    facts = machine_facts()
    facts["loadavg_before"] = [round(v, 2) for v in load_before]
    facts["loadavg_after"] = [round(v, 2) for v in os.getloadavg()]
    facts["warmup"], facts["iters"] = args.warmup, args.iters
    command = "python -m rain_seg_ros.bench " + " ".join(argv if argv is not None else sys.argv[1:])
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / f"{args.name}.json").write_text(
        json.dumps({"command": command, "machine": facts, "rows": [asdict(r) for r in rows]}, indent=2)
        + "\n")
    markdown = to_markdown(rows, facts, command)
    (args.out_dir / f"{args.name}.md").write_text(markdown)
    print(markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
