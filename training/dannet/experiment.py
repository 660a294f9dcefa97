"""The DANNet ablation on procedural day/night twins, end to end, as a Markdown + JSON table.

Stages (each skipped when its output exists, so an interrupted run continues):
  1. scenes    generate-scenes --night into OUT/scenes (or use scenes.root)
  2. train     every row x seed: train-dannet with the row's switches (OUT/<row>/seed<k>)
  3. evaluate  every run on the held-out night frames and their day twins
  4. replay    a night drive (make-drive-bag --condition night) through segmentation_node with
               the source-only and full exports of the first seed (night_drive_frames > 0)
  5. report    OUT/results.json, OUT/results.md (and `publish`): mean ± std over seeds, and
               for each step of the ablation whether it is a gain beyond the seeds' spread

Example:
    cfg = resolve_config(DANNetExperimentConfig, "config/training/experiment-dannet_synth-64x128.yaml")
    summary = run_experiment(cfg)
"""

from __future__ import annotations

import json
import logging
import os
import platform
import shutil
from pathlib import Path
from typing import Any

import torch

from training.dannet.config import TrainDANNetConfig
from training.dannet.experiment_config import ROW_OVERRIDES, ROWS, DANNetExperimentConfig
from training.dannet.report import summarise, write_report
from training.engine import checkpoint as ckpt
from training.engine.config import config_to_dict, resolve_config, save_config
from training.engine.distributed import resolve_device
from training.segmenter.config import DataSource
from training.segmenter.data import open_dataset
from training.segmenter.evaluation import evaluate_checkpoint, json_safe
from training.segmenter.experiment import Stages

log = logging.getLogger(__name__)


def run_experiment(cfg: DANNetExperimentConfig) -> dict[str, Any]:
    unknown = sorted(set(cfg.rows) - set(ROWS))
    if unknown:
        raise ValueError(f"rows: unknown {unknown}; known: {list(ROWS)}")
    if not cfg.seeds or cfg.steps < 1:
        raise ValueError("experiment needs at least one seed and steps >= 1")
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    save_config(cfg, out / "config.yaml")
    stages = Stages(out / "stages.jsonl")
    scenes = Path(cfg.scenes.root) if cfg.scenes.root else stages.run("scenes", _generate_scenes, cfg, out)
    tests = {cond: open_dataset(DataSource(root=str(scenes), split=cfg.eval_split,
                                           kwargs={"variant": variant}))
             for cond, variant in (("night", "night"), ("day", "clean"))}

    runs: dict[str, dict[str, dict[str, Any]]] = {}
    for row in cfg.rows:
        runs[row] = {}
        for seed in cfg.seeds:
            run = out / row / f"seed{seed}"
            step_dir = stages.run(f"{row}/seed{seed}/train", _train, cfg, row, seed, scenes, run)
            scores = {cond: stages.run(f"{row}/seed{seed}/eval_{cond}", _evaluate, cfg, step_dir, ds,
                                       run / f"eval_{cond}.json") for cond, ds in tests.items()}
            runs[row][str(seed)] = {cond: s["mIoU"] for cond, s in scores.items()}
    drive: dict[str, Any] = {}
    replayed = [row for row in ("source_only", "full") if row in cfg.rows]
    if cfg.night_drive_frames > 0 and replayed:
        from training.dannet.night_drive import replay_night_drive

        runs_0 = {row: out / row / f"seed{cfg.seeds[0]}" for row in replayed}
        size = (cfg.scenes.size[0], cfg.scenes.size[1])
        drive = stages.run("night_drive", replay_night_drive, out, runs_0, size=size,
                           frames=cfg.night_drive_frames, seed=cfg.scenes.seed)
    summary = {"config": config_to_dict(cfg), "night_drive": drive, "scenes": str(scenes),
               "machine": _machine(cfg),
               "test_frames": len(tests["night"]),  # type: ignore[arg-type]
               "stage_seconds": stages.seconds(), "runs": runs, "rows": summarise(runs)}
    (out / "results.json").write_text(json.dumps(json_safe(summary), indent=2) + "\n")
    write_report(summary, out / "results.md")
    figures = _figures(cfg, out, tests["night"])
    if cfg.publish:
        target = Path(cfg.publish)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(out / "results.md", target)
        shutil.copyfile(out / "results.json", target.with_suffix(".json"))
        for figure in figures:
            shutil.copyfile(figure, target.with_name(f"{target.stem}_{figure.name}"))
    return summary


def _figures(cfg: DANNetExperimentConfig, out: Path, night_set: Any) -> list[Path]:
    """curves.png (first seed of every row) and, with both rows, examples.png (source only vs full)."""
    from training.dannet.figures import write_curves, write_examples

    seed = cfg.seeds[0]
    written = [out / "curves.png"]
    write_curves({row: out / row / f"seed{seed}" for row in cfg.rows}, written[0])
    if {"source_only", "full"} <= set(cfg.rows):
        step_dirs = [ckpt.resolve_checkpoint(out / row / f"seed{seed}") for row in ("source_only", "full")]
        written.append(out / "examples.png")
        write_examples(step_dirs[0], step_dirs[1], night_set, written[1])
    return written


def _machine(cfg: DANNetExperimentConfig) -> dict[str, Any]:
    return {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(), "device": resolve_device(cfg.device), "torch": torch.__version__,
            "torch_threads": torch.get_num_threads()}


def _generate_scenes(cfg: DANNetExperimentConfig, out: Path) -> Path:
    from training.commands.generate_scenes import main as generate

    root = out / "scenes"
    if not (root / "manifest.jsonl").is_file():
        s = cfg.scenes
        argv = ["--out", str(root), "--count", str(s.count), "--size", f"{s.size[0]}x{s.size[1]}",
                "--seed", str(s.seed), "--splits", s.splits, "--workers", str(s.workers),
                "--night", "--quiet"]
        if generate(argv) != 0:
            raise RuntimeError(f"generate-scenes failed: {argv}")
    return root


def _train(cfg: DANNetExperimentConfig, row: str, seed: int, scenes: Path, run: Path) -> Path:
    from training.dannet.trainer import train

    latest = ckpt.latest_step_dir(run / "checkpoints")
    if latest is not None and ckpt.read_metadata(latest)[2] >= cfg.steps:
        return latest   # finished earlier
    overrides = [f"out={run}", f"seed={seed}", f"steps={cfg.steps}", f"device={cfg.device}",
                 f"source.root={scenes}", f"target.day.root={scenes}", f"target.night.root={scenes}",
                 f"target.misalign_px={cfg.misalign_px}", f"target.misalign_scale={cfg.misalign_scale}",
                 "resume=true", "progress=false", *ROW_OVERRIDES[row], *cfg.train_overrides]
    return train(resolve_config(TrainDANNetConfig, cfg.train_config, overrides))


def _evaluate(cfg: DANNetExperimentConfig, step_dir: Path, dataset: Any, out_json: Path) -> dict[str, Any]:
    if out_json.is_file():
        return json.loads(out_json.read_text())
    scores = json_safe(evaluate_checkpoint(step_dir, dataset, device=resolve_device(cfg.device)))
    out_json.write_text(json.dumps(scores, indent=2) + "\n")
    return scores
