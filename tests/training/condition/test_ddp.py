"""train-condition under torchrun: two CPU processes on gloo, validation on rank 0."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from training.condition.data import ConditionDataset
from training.condition.evaluation import evaluate_condition, load_condition_model
from training.condition.sources import find_condition_items


def test_two_process_gloo_run(tmp_path):
    rng = np.random.default_rng(0)
    for cond, level in (("clear", 180), ("rain", 150), ("night", 30), ("rain+night", 40)):
        for k in range(2):
            (tmp_path / "data" / cond).mkdir(parents=True, exist_ok=True)
            img = np.clip(rng.normal(level, 20, (16, 32, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(img).save(tmp_path / "data" / cond / f"{k}.png")
    out, data = tmp_path / "ddp", tmp_path / "data"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "training", "train-condition", f"out={out}", f"train=[{{source: folders, root: {data}}}]",
           f"val=[{{source: folders, root: {data}}}]", "input_size=[16, 32]", "model.width=4",
           "model.stages=2", "batch_size=2", "num_workers=0", "steps=4", "log_every=2", "val_every=4",
           "ckpt_every=4", "tensorboard=false", "device=cpu"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "loss" in r] == [2, 4]    # written once (rank 0), not twice
    ddp_val = [r["val"] for r in records if "val" in r][-1]
    model, meta = load_condition_model(out)
    single = evaluate_condition(model, ConditionDataset(find_condition_items("folders", data, ""), [16, 32]))
    for key, value in ddp_val.items():
        assert single[key] == pytest.approx(value, abs=1e-6), key
