"""train-segmenter under torchrun: two CPU processes on gloo, sharded validation."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from training.engine import checkpoint as ckpt
from training.segmenter.config import DataSource
from training.segmenter.data import open_dataset
from training.segmenter.evaluation import evaluate_segmenter


def test_two_process_gloo_run_matches_single_process_validation(tiny_cityscapes, tmp_path):
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "training", "train-segmenter", f"out={out}",
           f"train=[{{root: {tiny_cityscapes}, split: train}}]",
           f"val=[{{root: {tiny_cityscapes}, split: val}}]", "augment.crop_size=[32, 64]",
           "model.kind=erf_pspnet", "model.kwargs={channels: [8, 16, 32], head_channels: 16}",
           "batch_size=2", "num_workers=0", "steps=4", "log_every=2", "val_every=4", "ckpt_every=4",
           "tensorboard=false", "device=cpu"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    _, meta, step = ckpt.read_metadata(out)
    assert step == 4 and meta["task"] == "segmentation"
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "loss" in r] == [2, 4]  # written once (rank 0), not twice
    ddp_val = [r["val"] for r in records if "val" in r][-1]

    # Each rank scored half the images; the summed confusion matrix must give exactly the
    # single-process scores of the saved weights.
    model = ckpt.load_modules(out, ["model"])["model"]
    val_set = open_dataset(DataSource(root=str(tiny_cityscapes), split="val"))
    single = evaluate_segmenter(model, val_set, num_classes=19)
    for key in ("mIoU", "mAcc", "aAcc"):
        assert abs(single[key] - ddp_val[key]) < 1e-6, key
