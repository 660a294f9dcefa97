"""Two CPU processes on gloo (torch.distributed.run) train the mask restorer as one process
does with their batches together: the step sampler splits one global batch, DDP averages
the gradients, and the frozen generator stays outside DDP."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch

from tests.training.restoration.conftest import TINY
from training.engine.checkpoint import load_state_dicts
from training.engine.config import resolve_config
from training.restoration.config import MaskRestorerConfig
from training.restoration.restorer_trainer import train_restorer

REPO = Path(__file__).resolve().parents[3]

SCRIPT = """
import torch
torch.set_num_threads(1)
from training.engine.config import resolve_config
from training.restoration.config import MaskRestorerConfig
from training.restoration.restorer_trainer import train_restorer
train_restorer(resolve_config(MaskRestorerConfig, None, {argv!r}))
"""


def _flat(run: Path) -> torch.Tensor:
    states = load_state_dicts(run)["mask_generator"]
    return torch.cat([v.flatten().double() for k, v in sorted(states.items()) if v.is_floating_point()])


def test_two_gloo_processes_match_one_process(tmp_path, scenes, spade_ckpt):
    common = [*TINY, f"data.root={scenes}", f"spade={spade_ckpt}", "loss.vgg=0", "steps=2", "task=sr8",
              "data.flip=false"]
    script = tmp_path / "run_ddp.py"
    script.write_text(SCRIPT.format(argv=[*common, f"out_dir={tmp_path / 'ddp'}", "batch_size=2"]))
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                           "--master_port", str(29500 + os.getpid() % 1000), str(script)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]

    def run(name: str, *extra: str) -> torch.Tensor:
        argv = [*common, f"out_dir={tmp_path / name}", *extra]
        train_restorer(resolve_config(MaskRestorerConfig, None, argv))
        return _flat(tmp_path / name)

    init = run("init", "batch_size=4", "lr=0")
    one = run("one", "batch_size=4") - init       # 1 process x 4 samples
    half = run("half", "batch_size=2") - init     # what rank 0 alone would do
    ddp = _flat(tmp_path / "ddp") - init          # 2 processes x 2 samples
    cos = torch.nn.functional.cosine_similarity
    assert float(ddp.norm()) > 0
    assert float(cos(ddp, one, dim=0)) > 0.999
    assert float(cos(half, one, dim=0)) < 0.99
