"""Two CPU processes on gloo (torch.distributed.run) train what one process trains.

With the image pool off (pool_size=0) every CycleGAN loss is a per-sample mean (instance norm
is per sample too), so DDP's gradient averaging over 2 processes x 1 image pair equals one
process x 2 pairs. A broken all-reduce or a rank-dependent batch would not.
"""

import os
import subprocess
import sys
from pathlib import Path

import torch

from training.cyclegan.trainer import train
from training.engine.checkpoint import load_state_dicts, load_train_state, resolve_checkpoint

from .helpers import tiny_config, write_twin_scenes

REPO = Path(__file__).resolve().parents[3]

SCRIPT = """
import sys
from pathlib import Path
import torch
torch.set_num_threads(1)
sys.path.insert(0, {helpers!r})
from helpers import tiny_config
from training.cyclegan.trainer import train
train(tiny_config(Path({scenes!r}), Path({out!r}), batch_size=1, steps=2, pool_size=0))
"""


def test_two_gloo_processes_match_one_process(tmp_path):
    scenes = write_twin_scenes(tmp_path / "scenes", count=8, size=(16, 16))
    script = tmp_path / "run_ddp.py"
    script.write_text(SCRIPT.format(helpers=str(Path(__file__).parent), scenes=str(scenes),
                                    out=str(tmp_path / "ddp")))
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                           "--master_port", str(29500 + os.getpid() % 1000), str(script)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]

    def run(name, **kw):
        train(tiny_config(scenes, tmp_path / name, steps=2, pool_size=0, **kw))
        return _flat(tmp_path / name)

    init = run("init", batch_size=2, lr=0.0)
    one = run("one", batch_size=2) - init             # 1 process x 2 pairs
    half = run("half", batch_size=1) - init           # 1 process x 1 pair: what rank 0 alone would do
    ddp = _flat(tmp_path / "ddp") - init              # 2 processes x 1 pair
    cos = torch.nn.functional.cosine_similarity
    assert float(ddp.norm()) > 0
    assert float(cos(ddp, one, dim=0)) > 0.999
    assert float(cos(half, one, dim=0)) < 0.99
    state = load_train_state(resolve_checkpoint(tmp_path / "ddp").parent)
    assert len(state["pools"]) == 2                   # each rank's pools are kept for resume


def _flat(run):
    states = load_state_dicts(run)
    return torch.cat([v.flatten().double() for m in sorted(states) for _, v in sorted(states[m].items())])
