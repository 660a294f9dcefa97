"""train-dannet under torchrun: two CPU processes on gloo, every loss on, sharded validation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from training.engine import checkpoint as ckpt
from training.segmenter.config import DataSource
from training.segmenter.data import open_dataset
from training.segmenter.evaluation import evaluate_segmenter

from .conftest import SYNTH_CONFIG, tiny_overrides


def test_two_process_gloo_run(night_scenes: Path, tmp_path: Path):
    out = tmp_path / "ddp"
    overrides = tiny_overrides(night_scenes, out, "device=cpu", "num_workers=0", "val_every=4",
                               "ckpt_every=4", "log_every=2",
                               f"val=[{{root: {night_scenes}, split: val, kwargs: {{variant: night}}}}]")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "training", "train-dannet", "--config", SYNTH_CONFIG, *overrides]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=180, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    _, meta, step = ckpt.read_metadata(out)
    assert step == 4 and meta["method"] == "dannet"
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "g/total" in r] == [2, 4]   # rank 0 writes, once
    assert all("d/total" in r and "g/adv" in r for r in records if "g/total" in r)
    ddp_val = [r["val_mIoU"] for r in records if "val_mIoU" in r][-1]["val_night"]
    # each rank scored half the frames; the summed confusion matrix equals one process's score
    model = ckpt.load_modules(out, ["model"])["model"]
    val_set = open_dataset(DataSource(root=str(night_scenes), split="val", kwargs={"variant": "night"}))
    assert abs(evaluate_segmenter(model, val_set, num_classes=19)["mIoU"] - ddp_val) < 1e-6
