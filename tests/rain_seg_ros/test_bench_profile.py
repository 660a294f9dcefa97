"""`python -m rain_seg_ros.bench_profile`: per-operator kernel times of graph, mask-only cut, bare network."""

from __future__ import annotations

import pytest

from rain_seg_ros.bench_profile import main as profile_main
from rain_seg_ros.bench_profile import profile_model, to_markdown

from .runtime_fixtures import graph_seg_artifact, seg_artifact, write_conv_graph_onnx, write_conv_onnx

H, W, C = 32, 64, 5


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    folder = tmp_path_factory.mktemp("profile")
    write_conv_graph_onnx(folder / "tiny.onnx", graph_seg_artifact(H, W, C, batch=1))
    write_conv_onnx(folder / "tiny-network.onnx", seg_artifact(H, W, C, batch=1))
    return folder


def test_each_mode_times_the_operators_of_its_own_graph(pair):
    results = profile_model(pair / "tiny.onnx", iters=2, warmup=1, threads=1)
    ops = {mode: set(per_op) for mode, (_, per_op) in results.items()}
    # the hand-written graph (runtime_fixtures): argmax and the exp-sum confidence after a 1x1 conv
    assert {"ArgMax", "Exp", "ReduceSum"} <= ops["graph"]
    assert "ArgMax" in ops["mask-only"] and not {"Exp", "ReduceSum"} & ops["mask-only"]   # the cut
    assert not {"ArgMax", "Exp"} & ops["bare"]
    for run_ms, per_op in results.values():
        assert run_ms > 0 and all(ms >= 0 for ms in per_op.values())
    table = to_markdown(results, min_ms=0.0)
    assert "| ArgMax | 0.00 |" in table and "**model_run**" in table


def test_cli_prints_a_table_and_refuses_an_export_without_its_network(pair, tmp_path, capsys):
    assert profile_main(["--model", str(pair / "tiny.onnx"), "--iters", "1", "--threads", "1"]) == 0
    assert "## tiny.onnx" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        profile_main(["--model", str(pair / "tiny-network.onnx")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --model:") and "\n" not in err
