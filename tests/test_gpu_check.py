"""scripts/gpu_check.sh in CPU mode, end to end, so the GPU check cannot rot between GPU loans:
every stage runs the project's real commands, and the report's numbers are checked against the
files those commands wrote (not against the script's own arithmetic)."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import math
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "gpu_check.sh"


def run_script(*args: str, env: dict[str, str] | None = None, timeout: int = 400):
    env = {**os.environ, "PYTHON": sys.executable, **(env or {})}
    return subprocess.run([str(SCRIPT), *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout)


def md_table(markdown: str, heading: str) -> list[list[str]]:
    """Body rows of the first table after the `## heading...` line."""
    lines = markdown.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith(f"## {heading}"))
    rows = []
    for ln in lines[start + 1:]:
        if ln.startswith("## "):
            break
        if ln.startswith("|") and not ln.startswith("|---"):
            rows.append([c.strip() for c in ln.strip("|").split("|")])
    return rows[1:]   # without the header


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_cpu_mode_runs_every_stage_and_reports_real_numbers(tmp_path: Path):
    out, work = tmp_path / "report", tmp_path / "work"
    run = run_script("--cpu", "--models", "erf-pspnet", "--out", str(out), "--work", str(work))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    report = json.loads((out / "gpu.json").read_text())
    markdown = (out / "gpu.md").read_text()

    assert report["mode"] == "cpu"
    stages = {s["stage"]: s["status"] for s in report["stages"]}
    assert stages == dict.fromkeys(
        ["scenes", "train-dsanet", "train-erf-pspnet", "export-onnx-erf-pspnet-64x128",
         "export-pt2-erf-pspnet-64x128", "export-onnx-network-erf-pspnet-64x128",
         "export-pt2-network-erf-pspnet-64x128", "verify-onnxruntime-erf-pspnet", "verify-torch-erf-pspnet",
         "bench-erf-pspnet-64x128"], "ok")
    for stage in report["stages"]:   # each stage is a real project command, paths relative to the repo
        assert stage["command"].startswith("python -m ")

    # Training: steps/s lies within what the trainer itself logged per step.
    rows = {r["trainer"]: r for r in report["training"]}
    assert set(rows) == {"dsanet", "erf-pspnet"}
    logged = [json.loads(ln)["sec_per_it"] for ln in (work / "runs" / "erf-pspnet" / "metrics.jsonl")
              .read_text().splitlines()]
    seg = rows["erf-pspnet"]
    assert seg["size"] == "64x128" and seg["batch"] == 2 and len(logged) == seg["steps"] == 2
    assert 1 / max(logged) - 1e-9 <= seg["steps_per_s"] <= 1 / min(logged) + 1e-9
    assert seg["images_per_s"] == pytest.approx(2 * seg["steps_per_s"])
    assert math.isfinite(rows["dsanet"]["steps_per_s"]) and rows["dsanet"]["steps_per_s"] > 0
    assert (work / "runs" / "dsanet" / "checkpoints").is_dir()

    # Export: the files exist, their sizes are the ones reported, and they load as what they claim.
    for row in report["exports"]:
        path = work / "models" / f"{row['model']}-{row['size']}.{row['format']}"
        assert row["mb"] == pytest.approx(path.stat().st_size / 1e6, abs=0.06)
    import onnx

    graph = onnx.load(str(work / "models" / "erf-pspnet-64x128.onnx")).graph
    dims = [d.dim_value for d in graph.input[0].type.tensor_type.shape.dim]
    assert dims[1:] == [64, 128, 3]        # the uint8 (B, H, W, 3) input of the segmentation graph

    # Parity: both exported forms pass verify, with the errors verify printed in its log.
    parity = {r["backend"]: r for r in report["parity"]}
    assert set(parity) == {"onnxruntime", "torch"}
    for backend, row in parity.items():
        # segmentation exports put ids and confidence in the graph: verify reports uint8 LSB differences
        assert row["verdict"] == "PASS" and row["max_lsb"] <= 1 and row["agreement"] >= 0.999
        log = (work / "logs" / f"verify-{backend}-erf-pspnet.log").read_text()
        assert f"uint8 max diff {row['max_lsb']} LSB" in log

    # Latency: bench's rows, ordered percentiles, one per backend and mode, all in the table.
    latency = report["latency"]
    # bare = the `-network` export (float in, logits out); e2e = the graph with results inside
    assert {(r["backend"], r["mode"]) for r in latency} == {
        (b, m) for b in ("onnxruntime", "torch") for m in ("bare", "e2e", "e2e-mask-only", "e2e-float-path")}
    for r in latency:
        assert 0 < r["p50_ms"] <= r["p90_ms"] <= r["p99_ms"]
    table = md_table(markdown, "Latency")
    assert len(table) == len(latency)
    for cells, r in zip(table, latency):
        assert cells[:5] == [r["model"], r["resolution"], r["backend"], "fp32", r["mode"]]
        assert [float(c) for c in cells[5:8]] == pytest.approx([r["p50_ms"], r["p90_ms"], r["p99_ms"]],
                                                               abs=0.006)

    # The Markdown: machine facts before the first table, every section with its rows.
    head = markdown.split("## ", 1)[0]
    assert "CPU mode" in head and re.search(r"- torch: \S+", head) and "- onnxruntime: " in head
    assert [c[0] for c in md_table(markdown, "Training")] == ["dsanet", "erf-pspnet"]
    assert float(md_table(markdown, "Training")[1][4]) == pytest.approx(seg["steps_per_s"], abs=0.006)
    assert {c[2] for c in md_table(markdown, "Export")} == {"onnx", "pt2"}
    assert [c[-1] for c in md_table(markdown, "Parity")] == ["PASS", "PASS"]
    assert len(md_table(markdown, "Stage log")) == len(stages)


def test_without_cuda_it_says_so_and_keeps_a_table_when_time_runs_out(tmp_path: Path):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("CUDA is available: the CPU mode is not chosen automatically here")
    out = tmp_path / "report"
    run = run_script("--budget", "0", "--out", str(out), "--work", str(tmp_path / "work"), timeout=120)
    assert "no CUDA device: running the CPU mode" in run.stderr
    assert run.returncode == 1   # stages skipped for lack of time are not ok
    report = json.loads((out / "gpu.json").read_text())
    assert report["mode"] == "cpu" and report["stages"][0] == {
        **report["stages"][0], "stage": "scenes", "status": "skipped", "detail": "no time left"}
    assert "| scenes | skipped |" in (out / "gpu.md").read_text()


@pytest.fixture
def gpu_check(monkeypatch):
    """scripts/gpu_check.py as a module (it is a script, not part of a package)."""
    spec = importlib.util.spec_from_file_location("gpu_check", REPO / "scripts" / "gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "gpu_check", module)   # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_a_command_past_its_time_box_is_killed_and_reported(gpu_check, tmp_path: Path):
    check = gpu_check.Check(gpu_check.CPU_PLAN, tmp_path / "work", tmp_path / "report", {})
    start = time.monotonic()
    step = check.run("spin", ["timeit", "-n", "2000000000", "pass"], time.monotonic() + 3.5)  # ~25 s unkilled
    assert step.status == "timeout" and 3.4 < step.seconds < 10 and time.monotonic() - start < 10
    assert check.report["stages"] == [{"stage": "spin", "status": "timeout", "detail": "",
                                       "seconds": round(step.seconds, 1),
                                       "command": "python -m timeit -n 2000000000 pass"}]


def test_work_folder_is_emptied_on_rerun_and_a_foreign_one_refused(gpu_check, tmp_path: Path, capsys):
    work = tmp_path / "work"
    gpu_check.prepare_work(work)
    (work / "runs" / "dsanet").mkdir(parents=True)
    (work / "runs" / "dsanet" / "losses.jsonl").write_text('{"step": 1, "time_s": 1.0}\n')
    gpu_check.prepare_work(work)     # a rerun: trainers must not find the old run
    assert sorted(p.name for p in work.iterdir()) == [".gpu_check", "logs"]

    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    assert gpu_check.main(["--cpu", "--work", str(foreign), "--out", str(tmp_path / "report")]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"error: --work {foreign} holds other files: give a new or empty folder "
        "(rerun with --debug for the traceback)")
    assert (foreign / "notes.txt").read_text() == "keep me"


def test_missing_imports_are_named_with_the_wheel_to_carry(gpu_check, monkeypatch, capsys):
    pin = next(ln.split("==")[1] for ln in (REPO / "requirements.txt").read_text().splitlines()
               if ln.startswith("onnxslim=="))
    monkeypatch.setitem(gpu_check.REQUIRED, "no_such_module_for_gpu_check", "onnxslim")
    assert gpu_check.main(["--imports-only"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "no_such_module_for_gpu_check" in err and f"onnxslim=={pin}" in err and "--wheels" in err


def test_cpu_mode_refuses_to_write_into_docs(gpu_check, capsys):
    with pytest.raises(SystemExit) as exit_info:
        gpu_check.main(["--cpu", "--out", str(REPO / "docs" / "benchmarks"), "--budget", "0"])
    assert exit_info.value.code == 2
    assert "--out docs/benchmarks is for GPU results" in capsys.readouterr().err


def make_wheel(folder: Path, name: str, version: str) -> Path:
    """A minimal pure-Python wheel holding package `name` (PEP 427 layout, RECORD with hashes)."""
    files = {f"{name}/__init__.py": b"WHEEL_PROBE = True\n",
             f"{name}-{version}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\n"
                                                     f"Version: {version}\n".encode(),
             f"{name}-{version}.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\n"
                                                  b"Root-Is-Purelib: true\nTag: py3-none-any\n"}
    def digest(data: bytes) -> str:
        return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()

    record = "".join(f"{path},sha256={digest(data)},{len(data)}\n" for path, data in files.items())
    files[f"{name}-{version}.dist-info/RECORD"] = (record + f"{name}-{version}.dist-info/RECORD,,\n").encode()
    path = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        for arc, data in files.items():
            zf.writestr(arc, data)
    return path


def test_wheels_are_installed_offline_and_come_first(tmp_path: Path):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    make_wheel(wheels, "onnxslim", "0.0.1")
    site = tmp_path / "site"
    run = run_script("--wheels", str(wheels), "--imports-only", env={"GPU_CHECK_SITE": str(site)},
                     timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    line = next(ln for ln in run.stdout.splitlines() if ln.startswith("import onnxslim "))
    assert line.split()[-1] == str(site / "onnxslim" / "__init__.py")

    empty = tmp_path / "empty"
    empty.mkdir()
    run = run_script("--wheels", str(empty), "--imports-only", timeout=60)
    assert run.returncode == 2 and run.stderr.strip() == f"error: --wheels {empty} holds no .whl files"
