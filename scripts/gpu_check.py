"""`scripts/gpu_check.sh`: a one-shot GPU check of the whole offline pipeline, in under 8 minutes.

Each stage runs the project's own commands as time-boxed subprocesses; the report is rewritten after each:
  1. AMP training steps/s: `python -m training train-dsanet` (256x256, batch 8), `train-segmenter`
     for SegFormer-B0, ERF-PSPNet, DeepLabV3-R50 (512x1024, batch 4), random init, procedural scenes.
  2. `python -m export onnx|pt2` of each at 512x1024 and 1024x2048; `python -m export verify` on CUDA.
  3. `python -m rain_seg_ros.bench`: bare and end-to-end latency, fp32 (onnxruntime, .pt2) and fp16.
  4. docs/benchmarks/gpu.md (machine facts at the top, one table per stage) and gpu.json.
It first names the missing imports (carry them as wheels: `--wheels DIR`). Without CUDA, or with
--cpu, the same stages run at toy sizes on the CPU and write to --out, never to docs/.

Example:
    scripts/gpu_check.sh                              # CUDA machine -> docs/benchmarks/gpu.md
    scripts/gpu_check.sh --wheels .whl                # pip install --no-index .whl/*.whl first
    scripts/gpu_check.sh --cpu --out /tmp/gpu_check   # toy sizes on CPU (what the test runs)
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))   # the sibling gpu_check_report.py
from gpu_check_report import to_markdown  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # machine facts and the model table come from the project itself
CFG = REPO / "config" / "training"

# import name -> pip name for every third-party module the stages load (not ROS, not TensorRT)
REQUIRED = {"torch": "torch", "numpy": "numpy", "PIL": "pillow", "cv2": "opencv-python-headless",
            "yaml": "PyYAML", "tqdm": "tqdm", "psutil": "psutil", "scipy": "scipy",
            "safetensors": "safetensors", "transformers": "transformers", "tensorboard": "tensorboard",
            "onnx": "onnx", "onnxscript": "onnxscript", "onnxslim": "onnxslim",
            "onnxruntime": "onnxruntime-gpu"}
# segmenter name (as export.bench_models names it) -> its GPU training config under config/training
SEGMENTERS = {"segformer-b0": "segformer-b0_cityscapes-512x1024.yaml",
              "erf-pspnet": "erf-pspnet_clean_synth-128x256.yaml",
              "deeplabv3-r50": "deeplabv3-r50_cityscapes-512x1024.yaml"}


@dataclass(frozen=True)
class Plan:
    """Sizes, step counts and time boxes (seconds) of one run."""

    device: str
    scenes: int
    scene_size: tuple[int, int]
    dsanet_crop: tuple[int, int]
    dsanet_batch: int
    dsanet_steps: int
    seg_batch: int
    seg_steps: int
    latency_sizes: tuple[tuple[int, int], ...]
    warmup: int
    iters: int
    rtol: float          # verify tolerance; cuDNN convolutions run in TF32 by default on CUDA
    budget_s: float
    dsanet_config: str   # under config/training: the real GPU one, or the demo's tiny net on CPU
    loader_workers: int  # DataLoader workers of both trainers
    boxes: dict[str, float] = field(default_factory=dict)   # per stage; a stage not named: the budget


CUDA_PLAN = Plan("cuda", 16, (512, 1024), (256, 256), 8, 30, 4, 20, ((512, 1024), (1024, 2048)),
                 warmup=5, iters=50, rtol=1e-2, budget_s=455, dsanet_config="dsanet.yaml",
                 loader_workers=min(6, os.cpu_count() or 1),
                 boxes={"scenes": 45, "dsanet": 60, "segmenter": 70, "export": 150, "verify": 80,
                        "bench": 150})
# One latency size on CPU: every export and bench run costs a process start (seconds) in the test.
# No stage boxes, only the budget: on a shared 2-core machine any stage may take minutes.
CPU_PLAN = Plan("cpu", 4, (64, 128), (64, 64), 2, 2, 2, 2, ((64, 128),), warmup=1, iters=3, rtol=1e-3,
                budget_s=360, dsanet_config="dsanet_demo_synth-64x64.yaml", loader_workers=0)


def hhww(size: tuple[int, int]) -> str:
    return f"{size[0]}x{size[1]}"


def missing_imports(required: dict[str, str] = REQUIRED) -> list[str]:
    """Import names of `required` that this interpreter cannot find (nothing is imported)."""
    return [name for name in required if importlib.util.find_spec(name) is None]


def carry_hint(missing: list[str]) -> str:
    """The wheels to carry for the missing imports, pinned as requirements.txt pins them."""
    pins = dict(ln.lower().split("==", 1) for ln in (REPO / "requirements.txt").read_text().splitlines()
                if "==" in ln)
    wanted = [REQUIRED.get(mod, mod) for mod in missing]
    return " ".join(f"{w}=={pins[w.lower().removesuffix('-gpu')]}" if w.lower().removesuffix("-gpu") in pins
                    else w for w in wanted)


WORK_MARK = ".gpu_check"            # marks a folder this script may empty again
WORK_PARTS = ("scenes", "runs", "models", "bench", "logs")
LOG_TAIL_BYTES = 64 * 1024


def prepare_work(work: Path) -> None:
    """An empty work folder: trainers refuse (DSANet) or append to (segmenters) an old run's."""
    if work.is_dir() and any(work.iterdir()) and not (work / WORK_MARK).is_file():
        raise ValueError(f"--work {work} holds other files: give a new or empty folder")
    for part in WORK_PARTS:
        shutil.rmtree(work / part, ignore_errors=True)
    (work / "logs").mkdir(parents=True)
    (work / WORK_MARK).write_text("scripts/gpu_check.py work folder: emptied on each run\n")


@dataclass
class Step:
    """One subprocess's outcome."""

    status: str          # ok | failed | timeout | skipped
    seconds: float
    output: str          # the end of stdout + stderr


class Check:
    """Runs the stages' commands under one deadline and keeps the report up to date."""

    def __init__(self, plan: Plan, work: Path, out: Path, facts: dict[str, Any]):
        self.plan, self.work, self.out = plan, work, out
        self.deadline = time.monotonic() + plan.budget_s
        self.logs = work / "logs"
        prepare_work(work)
        self.report: dict[str, Any] = {"mode": plan.device, "machine": facts, "stages": [],
                                       "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                                       "training": [], "exports": [], "parity": [], "latency": [],
                                       "plan": {"warmup": plan.warmup, "iters": plan.iters,
                                                "rtol": plan.rtol, "budget_s": plan.budget_s}}

    def run(self, tag: str, args: list[str], box_end: float, env: dict[str, str] | None = None) -> Step:
        """`python -m ARGS` in the repo, killed (with its workers) at the stage's or the run's end."""
        timeout = min(box_end, self.deadline) - time.monotonic()
        # paths inside the repo relative to it (the commands run there): the report shows no home dirs
        args = [a.replace(f"{REPO}/", "") for a in args]
        line = "python -m " + " ".join(shlex.quote(a) for a in args)
        if timeout < 3:
            self.stage(tag, Step("skipped", 0.0, "no time left"), line)
            return Step("skipped", 0.0, "no time left")
        sys.stdout.write(f"$ {line}\n")   # one write: threads of the export pool print too
        sys.stdout.flush()
        log_path = self.logs / f"{tag}.log"
        start = time.monotonic()
        with log_path.open("w") as log:
            proc = subprocess.Popen([sys.executable, "-m", *args], cwd=REPO, stdout=log,
                                    stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
                                    start_new_session=True)   # own group: a timeout kills its workers too
            try:
                status = "ok" if proc.wait(timeout=timeout) == 0 else "failed"
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:   # it ended just now
                    pass
                proc.wait()
                status = "timeout"
        with log_path.open("rb") as log:   # the tail is all the report uses; a log can be long
            log.seek(max(0, log_path.stat().st_size - LOG_TAIL_BYTES))
            step = Step(status, time.monotonic() - start, log.read().decode(errors="replace"))
        self.stage(tag, step, line)
        return step

    def stage(self, tag: str, step: Step, command: str) -> None:
        last = [ln for ln in step.output.splitlines() if ln.strip()][-1:]
        detail = last[0][:200] if last and step.status != "ok" else ""   # a traceback's last line
        self.report["stages"].append({"stage": tag, "status": step.status,
                                      "seconds": round(step.seconds, 1), "detail": detail,
                                      "command": command})
        sys.stdout.write(f"--- {tag}: {step.status} in {step.seconds:.1f} s {detail}\n")
        sys.stdout.flush()

    def box(self, name: str) -> float:
        return time.monotonic() + self.plan.boxes.get(name, self.plan.budget_s)

    def write(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / "gpu.json").write_text(json.dumps(self.report, indent=2) + "\n")
        (self.out / "gpu.md").write_text(to_markdown(self.report))


# ---- stage 1: training -----------------------------------------------------------------------

def steps_per_s_segmenter(metrics: Path) -> float | None:
    """1 / median seconds per step after the first quarter of steps (cuDNN autotuning, warm-up)."""
    times = [r["sec_per_it"] for r in map(json.loads, metrics.read_text().splitlines()) if "sec_per_it" in r]
    kept = sorted(times[len(times) // 4:])
    return 1.0 / kept[len(kept) // 2] if kept else None


def steps_per_s_dsanet(losses: Path) -> float | None:
    """Steps per second between the first and the last log line (the first window is warm-up)."""
    rows = [json.loads(ln) for ln in losses.read_text().splitlines()]
    if len(rows) < 2 or rows[-1]["time_s"] <= rows[0]["time_s"]:
        return None
    return (rows[-1]["step"] - rows[0]["step"]) / (rows[-1]["time_s"] - rows[0]["time_s"])


def train_stage(check: Check, models: list[str]) -> dict[str, Path]:
    """Procedural scenes, DSANet steps, then each segmenter's steps; returns name -> checkpoint."""
    p, work = check.plan, check.work
    scenes = work / "scenes"
    step = check.run("scenes", ["training", "generate-scenes", "--out", str(scenes), "--count", str(p.scenes),
                                "--size", hhww(p.scene_size), "--splits", f"train={p.scenes},val=0,test=0",
                                "--workers", str(min(8, os.cpu_count() or 1)), "--overwrite", "--quiet"],
                     check.box("scenes"))
    if step.status != "ok":
        return {}
    log_every = max(1, p.dsanet_steps // 6)
    run_dir = work / "runs" / "dsanet"
    step = check.run("train-dsanet", [
        "training", "train-dsanet", "--config", str(CFG / p.dsanet_config),
        f"data.root={scenes / 'rain_pairs'}", f"data.num_workers={p.loader_workers}",
        f"data.crop=[{p.dsanet_crop[0]}, {p.dsanet_crop[1]}]", f"out_dir={run_dir}",
        f"steps={p.dsanet_steps}", f"batch_size={p.dsanet_batch}", f"log_every={log_every}",
        f"save_every={p.dsanet_steps}", f"image_every={p.dsanet_steps}", "progress=false",
        f"device={p.device}", "amp=true"], check.box("dsanet"))
    if step.status == "ok":
        rate = steps_per_s_dsanet(run_dir / "losses.jsonl")
        check.report["training"].append(training_row("dsanet", p.dsanet_crop, p.dsanet_batch,
                                                     p.dsanet_steps, rate))
    check.write()
    checkpoints = {}
    for name in models:
        run_dir = work / "runs" / name
        h, w = p.scene_size
        step = check.run(f"train-{name}", [
            "training", "train-segmenter", "--config", str(CFG / SEGMENTERS[name]), f"out={run_dir}",
            f"train=[{{root: {scenes}}}]", "val=[]", f"augment.crop_size=[{h}, {w}]",
            "augment.scale_range=[1.0, 1.0]", f"steps={p.seg_steps}", f"batch_size={p.seg_batch}",
            "warmup_steps=0", "log_every=1", f"ckpt_every={p.seg_steps}", "keep=1", "tensorboard=false",
            f"num_workers={p.loader_workers}", "cpu_threads=0", f"device={p.device}", "amp=true"],
            check.box("segmenter"))
        if step.status == "ok":
            rate = steps_per_s_segmenter(run_dir / "metrics.jsonl")
            check.report["training"].append(training_row(name, p.scene_size, p.seg_batch, p.seg_steps, rate))
            checkpoints[name] = run_dir
        check.write()
    return checkpoints


def training_row(trainer: str, size: tuple[int, int], batch: int, steps: int, rate: float | None) -> dict:
    return {"trainer": trainer, "size": hhww(size), "batch": batch, "steps": steps,
            "steps_per_s": rate, "images_per_s": rate * batch if rate is not None else None}


# ---- stage 2: export and parity --------------------------------------------------------------

def export_stage(check: Check, checkpoints: dict[str, Path]) -> set[Path]:
    """ONNX and .pt2 of every checkpoint at every latency size, a few at a time (export is CPU-bound).

    Returns:
        The files written, named `<model>-<H>x<W>.onnx|.pt2` as `rain_seg_ros.bench` expects.
    """
    # `-network`: the bare network (--float-logits) beside each graph, what bench times as "bare"
    jobs = [(name, size, fmt + net) for size in check.plan.latency_sizes for name in checkpoints
            for fmt in ("onnx", "pt2") for net in ("", "-network")]
    # at least 2 at once even on 2 cores: tracing is mostly one Python thread
    workers = max(1, min(len(jobs), max(2, min((os.cpu_count() or 1) // 2, 6))))
    env = {"OMP_NUM_THREADS": str(max(1, (os.cpu_count() or 1) // workers))}
    end = check.box("export")

    def one(job: tuple[str, tuple[int, int], str]) -> Path | None:
        name, size, kind = job
        fmt, net = kind.split("-")[0], kind.endswith("-network")
        path = check.work / "models" / f"{name}-{hhww(size)}{'-network' if net else ''}.{fmt}"
        step = check.run(f"export-{kind}-{name}-{hhww(size)}", [
            "export", fmt, "--checkpoint", str(checkpoints[name]), "--out", str(path),
            "--height", str(size[0]), "--width", str(size[1]), *(["--float-logits"] if net else [])],
            end, env)
        if step.status == "ok" and not net:
            check.report["exports"].append({"model": name, "size": hhww(size), "format": fmt,
                                            "seconds": round(step.seconds, 1),
                                            "mb": round(path.stat().st_size / 1e6, 1)})
        return path if step.status == "ok" else None

    with ThreadPoolExecutor(workers) as pool:
        done = {path for path in pool.map(one, jobs) if path is not None}
    check.report["exports"].sort(key=lambda r: (r["model"], r["size"], r["format"]))   # not finish order
    check.write()
    return done


VERIFY_LINE = re.compile(r"(?:max abs (\S+)\s+max rel (\S+)|uint8 max diff (\d+) LSB)"  # float | uint8 graphs
                         r"(?:\s+label agreement ([\d.]+)%)?")


def parse_verify(output: str) -> dict[str, Any]:
    """Max errors (float exports) or max uint8 difference (ids/confidence graphs), agreement, verdict."""
    m = VERIFY_LINE.search(output)
    verdict = re.search(r"^(PASS|FAIL)\b", output, re.MULTILINE)
    g = [None] * 4 if m is None else [m[i] for i in range(1, 5)]
    return {"max_abs": g[0] and float(g[0]), "max_rel": g[1] and float(g[1]), "max_lsb": g[2] and int(g[2]),
            "agreement": g[3] and float(g[3]) / 100, "verdict": verdict[1] if verdict else None}


def model_file(check: Check, name: str, size: tuple[int, int], backend: str) -> Path:
    return check.work / "models" / f"{name}-{hhww(size)}{'.onnx' if backend == 'onnxruntime' else '.pt2'}"


def verify_stage(check: Check, checkpoints: dict[str, Path], exported: set[Path],
                 backends: list[str]) -> None:
    """Parity of each model at the first latency size, per backend, against PyTorch (CPU, fp32)."""
    size = check.plan.latency_sizes[0]
    jobs = [(name, backend) for name in checkpoints for backend in backends
            if backend != "torch-fp16" and model_file(check, name, size, backend) in exported]
    end = check.box("verify")

    def one(job: tuple[str, str]) -> None:
        name, backend = job
        step = check.run(f"verify-{backend}-{name}", [
            "export", "verify", "--model", str(model_file(check, name, size, backend)),
            "--checkpoint", str(checkpoints[name]), "--backend", backend, "--device", check.plan.device,
            "--num-random", "2", "--rtol", str(check.plan.rtol),
            *(["--trust-pt2"] if backend.startswith("torch") else [])], end)  # our own fresh export
        if step.status in ("ok", "failed"):   # verify exits 1 on a parity failure: still a result
            row = parse_verify(step.output)
            if row["verdict"] is not None:
                check.report["parity"].append({"model": name, "size": hhww(size), "backend": backend,
                                               "device": check.plan.device, **row})

    with ThreadPoolExecutor(min(3, max(1, len(jobs)))) as pool:
        list(pool.map(one, jobs))
    check.report["parity"].sort(key=lambda r: (r["model"], r["backend"]))
    check.write()


# ---- stage 3: latency ------------------------------------------------------------------------

def bench_stage(check: Check, models: list[str], exported: set[Path], backends: list[str]) -> None:
    """One `rain_seg_ros.bench` run per model and size (smaller size first), one after the other."""
    end = check.box("bench")
    p = check.plan
    for size in p.latency_sizes:
        for name in models:
            files = [model_file(check, name, size, b) for b in backends]
            usable = [b for b, f in zip(backends, files) if f in exported]
            if not usable:
                continue
            tag = f"bench-{name}-{hhww(size)}"
            step = check.run(tag, ["rain_seg_ros.bench", "--models", str(files[backends.index(usable[0])]),
                                   "--backends", *usable, "--device", p.device, "--warmup", str(p.warmup),
                                   "--iters", str(p.iters), "--out-dir", str(check.work / "bench"),
                                   "--name", tag,  # --trust-pt2: the .pt2 files are our own exports
                                   *(["--trust-pt2"] if "torch" in " ".join(usable) else [])], end)
            if step.status == "ok":
                rows = json.loads((check.work / "bench" / f"{tag}.json").read_text())["rows"]
                check.report["latency"] += rows
            check.write()


# ---- stage 4: the report --------------------------------------------------------------------

def machine_facts(device: str) -> dict[str, Any]:
    """bench's machine facts plus CUDA, cuDNN, the driver and ONNX Runtime's providers."""
    import onnxruntime
    import torch

    from rain_seg_ros.bench import machine_facts as bench_facts

    facts: dict[str, Any] = {"gpu": "none (CPU mode)"} if device == "cpu" else {}
    facts |= bench_facts()
    facts |= {"cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version(),
              "onnxruntime_providers": onnxruntime.get_available_providers()}
    if device == "cuda":
        try:
            smi = ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"]
            facts["driver"] = subprocess.run(smi, capture_output=True, text=True, timeout=20).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            facts["driver"] = "unknown (nvidia-smi not found)"
    return facts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/gpu_check.sh", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cpu", action="store_true", help="toy sizes on the CPU (the default without CUDA)")
    parser.add_argument("--out", type=Path, help="report folder (default docs/benchmarks; "
                                                 "CPU mode: out/gpu_check-cpu, never docs/)")
    parser.add_argument("--work", type=Path, help="scenes, runs, models, logs (default out/gpu_check)")
    parser.add_argument("--models", nargs="+", choices=list(SEGMENTERS), default=list(SEGMENTERS))
    parser.add_argument("--budget", type=float, help="seconds for all stages (default 455; CPU mode 360)")
    parser.add_argument("--imports-only", action="store_true", help="only report the missing imports")
    parser.add_argument("--debug", action="store_true", help="tracebacks instead of one-line errors")
    args = parser.parse_args(argv)
    try:
        return run_check(args, parser, argv)
    except (OSError, ValueError, KeyError, json.JSONDecodeError) as exc:
        if args.debug:
            raise
        print(f"error: {exc} (rerun with --debug for the traceback)", file=sys.stderr)
        return 2


def run_check(args: argparse.Namespace, parser: argparse.ArgumentParser, argv: list[str] | None) -> int:
    """The import check, then the four stages; 0 when every stage is ok."""
    missing = missing_imports()
    for mod in REQUIRED:
        spec = importlib.util.find_spec(mod) if mod not in missing else None
        print(f"import {mod:<12} {'MISSING' if spec is None else spec.origin}")
    if missing:
        print(f"error: missing imports {', '.join(missing)}: carry them as wheels (pip download "
              f"{carry_hint(missing)}, see docs/benchmarks/README.md) and rerun with --wheels DIR",
              file=sys.stderr)
        return 2
    if args.imports_only:
        return 0

    import torch

    cpu = args.cpu or not torch.cuda.is_available()
    if cpu and not args.cpu:
        print("\n" + "!" * 78 + "\n!! no CUDA device: running the CPU mode (toy sizes), NOT a GPU check\n"
              + "!" * 78 + "\n", file=sys.stderr, flush=True)
    plan = CPU_PLAN if cpu else CUDA_PLAN
    if args.budget is not None:
        plan = Plan(**{**plan.__dict__, "budget_s": args.budget})
    out = args.out or (REPO / "out" / "gpu_check-cpu" if cpu else REPO / "docs" / "benchmarks")
    if cpu and out.resolve() == (REPO / "docs" / "benchmarks").resolve():
        parser.error("--out docs/benchmarks is for GPU results; give the CPU mode another folder")
    check = Check(plan, args.work or REPO / "out" / "gpu_check", out, machine_facts(plan.device))
    check.report["command"] = shlex.join(["scripts/gpu_check.sh", *(sys.argv[1:] if argv is None else argv)])
    backends = ["onnxruntime", "torch"] + ([] if cpu else ["torch-fp16"])
    if not cpu and "CUDAExecutionProvider" not in check.report["machine"]["onnxruntime_providers"]:
        check.report["notes"] = ["onnxruntime has no CUDAExecutionProvider (install onnxruntime-gpu): "
                                 "its CUDA parity and latency rows are missing"]
        backends.remove("onnxruntime")
    check.write()

    checkpoints = train_stage(check, args.models)
    exported = export_stage(check, checkpoints)
    verify_stage(check, checkpoints, exported, backends)
    bench_stage(check, args.models, exported, backends)
    check.write()
    failed = [s["stage"] for s in check.report["stages"] if s["status"] != "ok"]
    print(f"wrote {out / 'gpu.md'} and gpu.json; {len(failed)} stage(s) not ok: {' '.join(failed) or '-'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
