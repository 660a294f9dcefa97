"""`python -m rain_seg_ros.bench` on a tiny model: output files, percentiles, FLOPs vs the conv formula."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from rain_seg_ros.artifact import write_artifact
from rain_seg_ros.bench import main as bench_main
from rain_seg_ros.bench import make_row, time_interleaved

from .runtime_fixtures import (
    graph_seg_artifact,
    seg_artifact,
    write_conv_graph_onnx,
    write_conv_onnx,
    write_conv_pt2,
)

H, W, C = 32, 64, 5


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bench_models")
    art = seg_artifact(H, W, C, batch=1)
    weight, bias = write_conv_onnx(folder / f"tiny-{H}x{W}.onnx", art)
    conv = torch.nn.Conv2d(3, C, 1)
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(weight)[:, :, None, None])
        conv.bias.copy_(torch.from_numpy(bias))
    program = torch.export.export(conv.eval(), (torch.zeros(1, 3, H, W),))
    torch.export.save(program, str(folder / f"tiny-{H}x{W}.pt2"))
    write_artifact(art, folder / f"tiny-{H}x{W}.pt2")
    return folder


def test_bench_writes_markdown_and_json_with_machine_facts(tiny_models, tmp_path):
    argv = ["--models", str(tiny_models), "--backends", "onnxruntime", "torch", "--warmup", "1",
            "--iters", "5", "--out-dir", str(tmp_path), "--name", "tiny", "--trust-pt2"]
    assert bench_main(argv) == 0
    data = json.loads((tmp_path / "tiny.json").read_text())
    rows = data["rows"]
    assert {(r["backend"], r["mode"]) for r in rows} == {("onnxruntime", "bare"), ("onnxruntime", "e2e"),
                                                          ("torch", "bare"), ("torch", "e2e")}
    for r in rows:
        assert r["model"] == "tiny" and r["resolution"] == f"{H}x{W}" and r["device"] == "cpu"
        assert 0 < r["p50_ms"] <= r["p90_ms"] <= r["p99_ms"]
        # a 1x1 convolution: 2 FLOPs (multiply + add) per weight per output pixel
        assert r["gflops"] == pytest.approx(2 * 3 * C * H * W / 1e9)
    machine = data["machine"]
    assert machine["logical_cores"] >= 1 and len(machine["loadavg_before"]) == 3 and machine["cpu"]
    markdown = (tmp_path / "tiny.md").read_text()
    assert "| tiny | 32x64 | onnxruntime | cpu | 1 | bare |" in markdown and "loadavg_before" in markdown


def test_row_statistics_match_numpy():
    times = np.array([10.0, 12.0, 11.0, 30.0, 10.5])
    row = make_row({"model": "m", "resolution": "8x8", "backend": "torch", "device": "cpu", "batch": 2},
                   "bare", times, flops=4e9)
    assert row.p50_ms == pytest.approx(11.0) and row.p99_ms == pytest.approx(np.percentile(times, 99))
    assert row.throughput_ips == pytest.approx(2 / (times.mean() / 1e3))
    assert row.achieved_gflops_s == pytest.approx(4.0 * 2 / 0.011)


def test_bench_refuses_folders_without_models(tmp_path):
    with pytest.raises(SystemExit):
        bench_main(["--models", str(tmp_path), "--out-dir", str(tmp_path)])


def test_bench_loads_no_pt2_without_trust(tmp_path, capsys):
    """A crafted .pt2 beside the .onnx: neither the FLOP count nor a torch row may load it."""
    from tests.security.test_pt2 import make_evil_pt2

    models, marker = tmp_path / "models", tmp_path / "MARKER"
    models.mkdir()
    art = seg_artifact(H, W, C, batch=1)
    write_conv_onnx(models / f"tiny-{H}x{W}.onnx", art)
    write_conv_pt2(tmp_path / "genuine.pt2", art)
    make_evil_pt2(tmp_path / "genuine.pt2", models / f"tiny-{H}x{W}.pt2", marker)
    argv = ["--models", str(models), "--warmup", "0", "--iters", "2", "--out-dir", str(tmp_path)]
    assert bench_main(argv) == 0                                  # default: onnxruntime only
    rows = json.loads((tmp_path / "results.json").read_text())["rows"]
    assert {r["backend"] for r in rows} == {"onnxruntime"} and all(r["gflops"] is None for r in rows)
    with pytest.raises(SystemExit) as exc:
        bench_main([*argv, "--backends", "torch"])
    assert exc.value.code == 2 and "add --trust-pt2 if you trust their source" in capsys.readouterr().err
    assert not marker.exists()


def test_modes_are_timed_interleaved():
    calls: list[str] = []
    times = time_interleaved({"bare": lambda: calls.append("bare"), "e2e": lambda: calls.append("e2e")},
                             warmup=1, iters=2)
    assert calls == ["bare", "e2e"] * 3 and set(times) == {"bare", "e2e"} and len(times["e2e"]) == 2


def test_graph_is_measured_against_its_bare_network_in_one_run(tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    write_conv_graph_onnx(models / f"tiny-{H}x{W}.onnx", graph_seg_artifact(H, W, C, batch=1))
    write_conv_onnx(models / f"tiny-{H}x{W}-network.onnx", seg_artifact(H, W, C, batch=1))
    argv = ["--models", str(models), "--warmup", "0", "--iters", "3", "--out-dir", str(tmp_path),
            "--name", "e2e"]
    assert bench_main(argv) == 0
    rows = json.loads((tmp_path / "e2e.json").read_text())["rows"]
    assert [r["mode"] for r in rows] == ["bare", "e2e", "e2e-mask-only", "e2e-float-path"]
    assert {r["model"] for r in rows} == {"tiny"}                  # the network is no model of its own
    bare = rows[0]["p50_ms"]
    for r in rows:
        assert r["over_bare"] == pytest.approx(r["p50_ms"] / bare)
    assert "| tiny | 32x64 | onnxruntime | cpu | 1 | e2e |" in (tmp_path / "e2e.md").read_text()
