"""The night experiment ("See Clearer at Night" on procedural scenes): one command from generated
day/night scenes to one Markdown + JSON table and a count-sweep plot.

Rows, per segmenter, each trained once per seed (mean ± std over the seeds):
  baseline   trained on labelled day images only
  method1    the baseline model, night test frames turned day-like by CycleGAN's F first
  method2@c  day images + c x (number of day images) CycleGAN-translated night copies (G)
  dannet     given DANNet segmenter checkpoints, evaluated as they are (when configured)
  oracle     day images + the labelled real night twins (what perfect translation could give)
Every row is scored on the held-out night and day frames of the test split.

Stages (each skipped when its output exists, so an interrupted run continues):
  scenes -> cyclegan (+ cycle PSNR on the held-out split, translations.png) -> translate ->
  per segmenter and seed: train rows, evaluate.

Example:
    cfg = resolve_config(NightExperimentConfig, "config/training/experiment-night_synth-64x128.yaml")
    summary = run_night_experiment(cfg)
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

from training.cyclegan.experiment_config import METHODS, NightExperimentConfig
from training.cyclegan.report import summarise, write_night_report
from training.engine import checkpoint as ckpt
from training.engine.config import config_to_dict, resolve_config, save_config
from training.engine.distributed import resolve_device
from training.segmenter.config import DataSource, TrainSegmenterConfig
from training.segmenter.evaluation import ImageFn, evaluate_checkpoint, json_safe
from training.segmenter.experiment import Stages
from training.segmenter.experiment_config import SegmenterEntry

log = logging.getLogger(__name__)
CONDITIONS = ("night", "day")


def run_night_experiment(cfg: NightExperimentConfig) -> dict[str, Any]:
    unknown = sorted(set(cfg.methods) - set(METHODS))
    if unknown:
        raise ValueError(f"unknown method(s) {unknown}; known: {list(METHODS)}")
    if "method1" in cfg.methods and "baseline" not in cfg.methods:
        raise ValueError("method1 evaluates the baseline model: add baseline to methods")
    if "dannet" in cfg.methods and not cfg.dannet.checkpoints:
        raise ValueError("method dannet needs dannet.checkpoints (DANNet segmenter checkpoints); "
                         "or leave dannet out of methods")
    if not cfg.seeds:
        raise ValueError("seeds: at least one seed is needed")
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    save_config(cfg, out / "config.yaml")
    stages = Stages(out / "stages.jsonl")
    device = resolve_device(cfg.device)

    scenes = Path(cfg.scenes.root) if cfg.scenes.root else stages.run("scenes", _generate_scenes, cfg, out)
    from training.segmenter.data import open_dataset

    day = DataSource(root=str(scenes), split="train")
    night = DataSource(root=str(scenes), split="train", kwargs={"variant": "night"})
    test_sets = {"night": open_dataset(DataSource(root=str(scenes), split=cfg.eval_split,
                                                  kwargs={"variant": "night"})),
                 "day": open_dataset(DataSource(root=str(scenes), split=cfg.eval_split))}
    num_day = len(open_dataset(day))  # type: ignore[arg-type]
    gan = translated = None
    night2day: ImageFn | None = None
    gan_eval: dict[str, Any] = {}
    if {"method1", "method2"} & set(cfg.methods):
        gan = stages.run("cyclegan", _cyclegan, cfg, out, scenes)
        gan_eval = stages.run("cyclegan_eval", _cyclegan_eval, gan, scenes, cfg.eval_split, out, device)
    if "method2" in cfg.methods:
        translated = stages.run("translate", _translate, gan, scenes, out / "translated_night", device)
    if "method1" in cfg.methods:
        from training.cyclegan.translate import load_translator

        translator = load_translator(gan, "night2day", device=device)   # type: ignore[arg-type]
        night2day = lambda images, index: translator(images)   # noqa: E731  (ImageFn signature)

    runs: dict[str, dict[str, dict[str, Any]]] = {}
    for seg in cfg.segmenters:
        rows: dict[str, dict[str, Any]] = {}
        for seed in cfg.seeds:
            def score(row: str, model: Path, conditions: tuple[str, ...] = CONDITIONS,
                      image_fn: ImageFn | None = None, seed: int = seed, name: str = seg.name,
                      rows: dict[str, dict[str, Any]] = rows) -> None:
                rows.setdefault(row, {})[str(seed)] = {
                    cond: stages.run(f"{name}/{row}/seed{seed}/eval_{cond}", _evaluate, model,
                                     test_sets[cond], image_fn, device,
                                     out / name / "eval" / f"{row}_seed{seed}_{cond}.json")
                    for cond in conditions}

            base = out / seg.name / f"seed{seed}"
            if "baseline" in cfg.methods:
                model = stages.run(f"{seg.name}/baseline/seed{seed}", _train, cfg, seg, seed,
                                   base / "baseline", [day])
                score("baseline", model)
                if "method1" in cfg.methods:
                    score("method1", model, ("night",), night2day)
            if "method2" in cfg.methods:
                for c in cfg.counts:
                    count = round(c * num_day)
                    if count < 1:
                        continue   # count 0 is the baseline row
                    extra = DataSource(root=str(translated), split="train", count=count)
                    model = stages.run(f"{seg.name}/method2@{c:g}/seed{seed}", _train, cfg, seg, seed,
                                       base / f"method2_{c:g}", [day, extra])
                    score(f"method2@{c:g}", model)
            if "oracle" in cfg.methods:
                model = stages.run(f"{seg.name}/oracle/seed{seed}", _train, cfg, seg, seed, base / "oracle",
                                   [day, night])
                score("oracle", model)
            if "dannet" in cfg.methods:
                checkpoints = cfg.dannet.checkpoints
                score("dannet", Path(checkpoints[cfg.seeds.index(seed) % len(checkpoints)]))
        runs[seg.name] = rows

    test_images = {k: len(v) for k, v in test_sets.items()}  # type: ignore[arg-type]
    summary = {"config": config_to_dict(cfg), "scenes": str(scenes), "cyclegan": str(gan or ""),
               "num_day_train": num_day, "test_images": test_images, "stage_seconds": stages.seconds(),
               "cyclegan_eval": gan_eval, "runs": runs, "summary": summarise(runs)}
    (out / "results.json").write_text(json.dumps(json_safe(summary), indent=2) + "\n")
    write_night_report(summary, out / "results.md", out / "count_sweep.png")
    return summary


def _generate_scenes(cfg: NightExperimentConfig, out: Path) -> Path:
    from training.commands.generate_scenes import main as generate

    root = out / "scenes"
    if not (root / "manifest.jsonl").is_file():
        s = cfg.scenes
        argv = ["--out", str(root), "--count", str(s.count), "--size", f"{s.size[0]}x{s.size[1]}",
                "--seed", str(s.seed), "--splits", s.splits, "--workers", str(s.workers), "--night",
                "--quiet", "--overwrite"]
        if generate(argv) != 0:
            raise RuntimeError(f"generate-scenes failed: {argv}")
    return root


def _cyclegan(cfg: NightExperimentConfig, out: Path, scenes: Path) -> Path:
    if cfg.cyclegan.checkpoint:
        return Path(cfg.cyclegan.checkpoint)
    from training.cyclegan.config import CycleGANTrainConfig
    from training.cyclegan.trainer import train

    run = out / "cyclegan"
    gan_cfg = resolve_config(CycleGANTrainConfig, cfg.cyclegan.config,
                             [f"out_dir={run}", f"data.root={scenes}", "data.source=scenes",
                              f"device={cfg.device}", "resume=true", "progress=false",
                              *cfg.cyclegan.overrides])
    latest = ckpt.latest_step_dir(run / "checkpoints")
    if latest is not None and ckpt.read_metadata(latest)[2] >= gan_cfg.steps:
        return run   # finished earlier
    train(gan_cfg)
    return run


def _cyclegan_eval(gan: Path, scenes: Path, split: str, out: Path, device: str) -> dict[str, Any]:
    """Cycle PSNR on the held-out split (both directions) and a grid of 4 translations."""
    from training.cyclegan.evaluate import cycle_psnr, save_translation_grid

    result = out / "cyclegan_eval.json"
    if result.is_file():
        return json.loads(result.read_text())
    day = sorted((scenes / "cityscapes" / "leftImg8bit" / split).rglob("*.png"))
    night = sorted((scenes / "cityscapes_night" / "leftImg8bit" / split).rglob("*.png"))
    scores: dict[str, Any] = {"cycle_psnr_db": cycle_psnr(gan, day, night, device), "split": split}
    save_translation_grid(gan, day[:4], night[-4:], out / "translations.png", device)  # other scenes
    result.write_text(json.dumps(scores, indent=2) + "\n")
    return scores


def _translate(gan: Path, scenes: Path, out: Path, device: str) -> Path:
    from training.cyclegan.translate import load_translator, translate_dataset

    translate_dataset(load_translator(gan, "day2night", device=device), scenes / "cityscapes", out,
                      progress=False)
    return out


def _train(cfg: NightExperimentConfig, seg: SegmenterEntry, seed: int, run: Path,
           sources: list[DataSource]) -> Path:
    from training.segmenter.trainer import train

    overrides = [f"out={run}", f"train={json.dumps([asdict(s) for s in sources])}", "val=[]",
                 f"steps={cfg.steps}", f"batch_size={cfg.batch_size}", f"seed={seed}",
                 f"model.kind={seg.model.kind}", f"model.kwargs={json.dumps(seg.model.kwargs)}",
                 f"augment.crop_size=[{cfg.crop_size[0]}, {cfg.crop_size[1]}]", f"device={cfg.device}",
                 f"cpu_threads={cfg.cpu_threads}", "resume=true", f"ckpt_every={cfg.steps}",
                 f"val_every={cfg.steps}", *cfg.train_overrides, *seg.overrides]
    latest = ckpt.latest_step_dir(run / "checkpoints")
    if latest is not None and ckpt.read_metadata(latest)[2] >= cfg.steps:
        return latest   # finished earlier
    return train(resolve_config(TrainSegmenterConfig, None, overrides))


def _evaluate(model: Path, dataset: Any, image_fn: ImageFn | None, device: str,
              out_json: Path) -> dict[str, Any]:
    if out_json.is_file():
        return json.loads(out_json.read_text())
    scores = json_safe(evaluate_checkpoint(model, dataset, device=device, image_fn=image_fn))
    out_json.parent.mkdir(parents=True, exist_ok=True)
    out_json.write_text(json.dumps(scores, indent=2) + "\n")
    return scores
