"""Two CPU processes on gloo through torch.distributed.run train what one process trains.

In input1 mode every pair is its own partner and every loss is a per-sample mean, so DDP's
gradient averaging over 2 processes x 2 pairs equals one process x 4 pairs. A broken
all-reduce or a rank-dependent batch would not.
"""

import os
import subprocess
import sys
from pathlib import Path

import torch

from training.dsanet.config import DSANetTrainConfig
from training.dsanet.trainer import train
from training.engine.checkpoint import load_state_dicts
from training.engine.config import resolve_config

from .dsanet_helpers import TINY, TinyPairs

REPO = Path(__file__).resolve().parents[3]

SCRIPT = """
import sys
import torch
torch.set_num_threads(1)
sys.path.insert(0, {helpers!r})
from dsanet_helpers import TINY, TinyPairs
from training.dsanet.config import DSANetTrainConfig
from training.dsanet.trainer import train
from training.engine.config import resolve_config
cfg = resolve_config(DSANetTrainConfig, None, [*TINY, "out_dir={out}", "mode=input1", "batch_size=2",
                                               "steps=3", "device=cpu"])
train(cfg, TinyPairs())
"""


def test_two_gloo_processes_match_one_process(tmp_path):
    script = tmp_path / "run_ddp.py"
    script.write_text(SCRIPT.format(helpers=str(Path(__file__).parent), out=str(tmp_path / "ddp")))
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                           "--master_port", str(29500 + os.getpid() % 1000), str(script)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]

    def run(name, *extra):
        cfg = resolve_config(DSANetTrainConfig, None, [*TINY, f"out_dir={tmp_path / name}", "mode=input1",
                                                       "steps=3", "device=cpu", *extra])
        train(cfg, TinyPairs())
        return _flat(tmp_path / name)

    init = run("init", "batch_size=4", "lr_g=0", "lr_d=0")
    one = run("one", "batch_size=4") - init           # 1 process x 4 pairs
    half = run("half", "batch_size=2") - init         # 1 process x 2 pairs: what rank 0 alone would do
    ddp = _flat(tmp_path / "ddp") - init              # 2 processes x 2 pairs
    # Adam moves every weight by about lr per step, so compare update directions: equal up to
    # the float noise of near-zero gradients, and clearly closer than an unsynchronised rank.
    cos = torch.nn.functional.cosine_similarity
    assert float(ddp.norm()) > 0
    assert float(cos(ddp, one, dim=0)) > 0.999
    assert float(cos(half, one, dim=0)) < 0.99


def _flat(run):
    states = load_state_dicts(run)
    return torch.cat([v.flatten().double() for m in sorted(states) for _, v in sorted(states[m].items())])
