"""The rain experiment: every method of the thesis's comparison, trained and evaluated on one
dataset, written as a Markdown + JSON table (Tables 4-1 / 4-3 of the thesis).

Stages (each skipped when its output exists, so an interrupted run continues):
  1. scenes      generate-scenes into OUT/scenes (or use scenes.root)
  2. dsanet      train-dsanet "ours" (and "input1") on OUT/scenes/rain_pairs, or given checkpoints
  3. rainify     rainified copies of the labelled set + the rain-code bank (per DSANet)
  4. segmenters  per segmenter: clean pre-training, then every method fine-tunes from it
  5. evaluate    every method on clean, DSANet-rainified and independently rendered rainy test images
Stages 2-5 run once per seed (`seeds`) under OUT/seed<N>; the table is mean ± std over seeds.
OUT/examples.png shows test images as the evaluation sees them (the first seed's DSANet).

Example:
    cfg = resolve_config(ExperimentConfig, "config/training/experiment-rain_synth-128x256.yaml")
    results = run_experiment(cfg)
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from training.engine import checkpoint as ckpt
from training.engine.config import config_to_dict, resolve_config, save_config
from training.seed_stats import mean_std
from training.segmenter.config import DataSource, TrainSegmenterConfig
from training.segmenter.evaluation import ImageFn, evaluate_checkpoint, json_safe
from training.segmenter.experiment_config import CONDITIONS, METHODS, ExperimentConfig, SegmenterEntry
from training.segmenter.report import plot_examples, write_report

log = logging.getLogger(__name__)


class Stages:
    """Wall time of each stage, appended to OUT/stages.jsonl as it finishes.

    A rerun finds finished stages in seconds; the report gives each stage's longest recorded
    time, i.e. the run that did the work (also when stages ran in several processes)."""

    def __init__(self, log_file: Path) -> None:
        self.log_file = log_file

    def run(self, name: str, fn, *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        log.info("experiment stage: %s", name)
        result = fn(*args, **kwargs)
        with open(self.log_file, "a") as f:
            f.write(json.dumps({"stage": name, "seconds": round(time.perf_counter() - t0, 1)}) + "\n")
        return result

    def seconds(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for line in self.log_file.read_text().splitlines():
            record = json.loads(line)
            out[record["stage"]] = max(out.get(record["stage"], 0.0), record["seconds"])
        return out


def run_experiment(cfg: ExperimentConfig) -> dict[str, Any]:
    unknown = sorted(set(cfg.methods) - set(METHODS)) + sorted(set(cfg.conditions) - set(CONDITIONS))
    if unknown:
        raise ValueError(f"unknown method(s)/condition(s) {unknown}; "
                         f"known: {list(METHODS)}, {list(CONDITIONS)}")
    if "derain" in cfg.methods and "baseline" not in cfg.methods:
        raise ValueError("method derain evaluates the baseline model: add baseline to methods")
    if not cfg.seeds or len(set(cfg.seeds)) != len(cfg.seeds):
        raise ValueError(f"seeds must be a non-empty list of distinct integers, got {cfg.seeds}")
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    save_config(cfg, out / "config.yaml")
    stages = Stages(out / "stages.jsonl")

    scenes = Path(cfg.scenes.root) if cfg.scenes.root else stages.run("scenes", _generate_scenes, cfg, out)
    per_seed = {seed: _run_seed(cfg, seed, out / f"seed{seed}", scenes, stages) for seed in cfg.seeds}
    dsanets = sorted({str(d) for d, _ in per_seed.values() if d})
    summary = {"config": config_to_dict(cfg), "scenes": str(scenes), "dsanet": ", ".join(dsanets),
               "stage_seconds": stages.seconds(), "seeds": list(cfg.seeds),
               "results": aggregate({seed: r for seed, (_, r) in per_seed.items()})}
    (out / "results.json").write_text(json.dumps(json_safe(summary), indent=2) + "\n")
    write_report(summary, out / "results.md")
    dsanet, first = per_seed[cfg.seeds[0]][0], cfg.seeds[0]
    if dsanet is not None and {"dsanet_rain", "rendered_rain"} <= set(cfg.conditions):
        plot_examples(cfg, dsanet, out / f"seed{first}" / "rainified" / "rain_bank.safetensors", scenes,
                      out / "examples.png", _device(cfg))
    return summary


def _run_seed(cfg: ExperimentConfig, seed: int, out: Path, scenes: Path, stages: Stages
              ) -> tuple[Path | None, dict[str, Any]]:
    """One repetition of the chain with `seed`: (DSANet used, {segmenter: {method: {condition: scores}}})."""
    from training.segmenter.data import open_dataset

    test_sets = {"clean": open_dataset(DataSource(root=str(scenes), split=cfg.eval_split)),
                 "dsanet_rain": open_dataset(DataSource(root=str(scenes), split=cfg.eval_split)),
                 "rendered_rain": open_dataset(DataSource(root=str(scenes), split=cfg.eval_split,
                                                          kwargs={"variant": "rain"}))}
    image_fns: dict[str, ImageFn | None] = {"clean": None, "dsanet_rain": None, "rendered_rain": None}
    dsanet = rainified = bank = input1_rainified = None
    derain: ImageFn | None = None
    tag = f"seed{seed}"
    if set(cfg.methods) & {"ours", "end_to_end", "derain"} or "dsanet_rain" in cfg.conditions:
        from training.dsanet.api import DSANet
        from training.dsanet.bank import load_rain_bank
        from training.segmenter.weather import derain_fn, rainify_fn

        dsanet = stages.run(f"{tag}/dsanet", _dsanet, cfg, out, "ours", scenes, seed)
        rainified, bank = stages.run(f"{tag}/rainify", _rainify, cfg, dsanet, scenes, out / "rainified", seed)
        net = DSANet.from_checkpoint(dsanet, device=_device(cfg))
        codes, _ = load_rain_bank(bank)
        image_fns["dsanet_rain"] = rainify_fn(net, codes, cfg.dsanet.eval_intensity, seed=cfg.scenes.seed)
        derain = derain_fn(net)
    if "input1" in cfg.methods:
        input1 = stages.run(f"{tag}/dsanet_input1", _dsanet, cfg, out, "input1", scenes, seed)
        input1_rainified, _ = stages.run(f"{tag}/rainify_input1", _rainify, cfg, input1, scenes,
                                         out / "rainified_input1", seed)

    clean = DataSource(root=str(scenes), split="train")
    results: dict[str, Any] = {}
    for seg in cfg.segmenters:
        seg_out = out / seg.name
        name = f"{tag}/{seg.name}"
        pre = stages.run(f"{name}/pretrain", _train, cfg, seg, seg_out / "pretrain", [clean],
                         cfg.pretrain_steps, [f"seed={seed}"])
        results[seg.name] = {}
        for method in cfg.methods:
            if method == "derain":
                model_ckpt = seg_out / "baseline"
            else:
                sources, extra = _method_data(cfg, method, clean, rainified, input1_rainified, dsanet, bank)
                extra = [f"init_checkpoint={pre}", f"seed={seed}", *extra]
                model_ckpt = stages.run(f"{name}/{method}", _train, cfg, seg, seg_out / method, sources,
                                        cfg.finetune_steps, extra)
            scores = {}
            for cond in cfg.conditions:
                fn = image_fns[cond]
                if method == "derain":
                    assert derain is not None
                    fn = _then(fn, derain)
                scores[cond] = stages.run(f"{name}/{method}/eval_{cond}", _evaluate, cfg, model_ckpt,
                                          test_sets[cond], fn, seg_out / "eval" / f"{method}_{cond}.json")
            results[seg.name][method] = scores
    return dsanet, results


def aggregate(per_seed: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """{seed: {seg: {method: {cond: scores}}}} -> {seg: {method: {cond: mean scores}}}.

    Each condition keeps the mean of mIoU / mAcc / per-class IoU over the seeds, `<metric>_std`
    (sample std, 0 for one seed) and `per_seed` ({seed: mIoU})."""
    first = next(iter(per_seed.values()))
    out: dict[str, Any] = {}
    for seg, methods in first.items():
        out[seg] = {}
        for method, conds in methods.items():
            out[seg][method] = {}
            for cond in conds:
                runs = [per_seed[s][seg][method][cond] for s in per_seed]
                entry: dict[str, Any] = {}
                for metric in ("mIoU", "mAcc"):
                    entry[metric], entry[f"{metric}_std"] = mean_std([r[metric] for r in runs])
                classes = runs[0]["per_class_iou"]
                entry["per_class_iou"] = {c: _mean_or_none([r["per_class_iou"].get(c) for r in runs])
                                          for c in classes}
                entry["per_seed"] = {str(s): per_seed[s][seg][method][cond]["mIoU"] for s in per_seed}
                out[seg][method][cond] = entry
    return out


def _mean_or_none(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def _device(cfg: ExperimentConfig) -> str:
    import torch

    return ("cuda" if torch.cuda.is_available() else "cpu") if cfg.device == "auto" else cfg.device


def _generate_scenes(cfg: ExperimentConfig, out: Path) -> Path:
    from training.commands.generate_scenes import main as generate

    root = out / "scenes"
    if not (root / "manifest.jsonl").is_file():
        s = cfg.scenes
        argv = ["--out", str(root), "--count", str(s.count), "--size", f"{s.size[0]}x{s.size[1]}",
                "--seed", str(s.seed), "--splits", s.splits, "--workers", str(s.workers),
                "--rain-intensity", f"{s.rain_intensity[0]},{s.rain_intensity[1]}", "--quiet"]
        if generate(argv) != 0:
            raise RuntimeError(f"generate-scenes failed: {argv}")
    return root


def _dsanet(cfg: ExperimentConfig, out: Path, mode: str, scenes: Path, seed: int) -> Path:
    given = cfg.dsanet.checkpoint if mode == "ours" else cfg.dsanet.input1_checkpoint
    if given:
        return Path(given)
    from training.commands.train_dsanet import main as train_dsanet

    run = out / ("dsanet" if mode == "ours" else "dsanet_input1")
    config = cfg.dsanet.config if mode == "ours" else cfg.dsanet.input1_config
    argv = ["--config", config, f"out_dir={run}", f"data.root={scenes / 'rain_pairs'}",
            f"device={cfg.device}", "resume=true", f"seed={seed}", *cfg.dsanet.overrides]
    if train_dsanet(argv) != 0:
        raise RuntimeError(f"train-dsanet failed: {argv}")
    return run


def _rainify(cfg: ExperimentConfig, dsanet: Path, scenes: Path, out: Path, seed: int) -> tuple[Path, Path]:
    from training.commands.rainify import main as rainify

    bank = out / "rain_bank.safetensors"
    lo, hi = cfg.dsanet.train_intensity
    argv = ["--dsanet", str(dsanet), "--images", str(scenes / "cityscapes"), "--out", str(out),
            "--intensity", f"{lo},{hi}", "--seed", str(seed), "--device", _device(cfg)]
    argv += ["--bank", str(bank)] if bank.is_file() else [
        "--rain-refs", str(scenes / "rain_pairs" / "train" / "rain"), "--styles", str(cfg.dsanet.styles)]
    if rainify(argv) != 0:
        raise RuntimeError(f"rainify failed: {argv}")
    return out, bank


def _method_data(cfg: ExperimentConfig, method: str, clean: DataSource, rainified: Path | None,
                 input1_rainified: Path | None, dsanet: Path | None, bank: Path | None
                 ) -> tuple[list[DataSource], list[str]]:
    """Training sources and train-segmenter overrides of one method."""
    p = cfg.rain_p
    lo, hi = cfg.dsanet.train_intensity
    if method == "ours":
        return [clean, DataSource(root=str(rainified), split="train")], []
    if method == "input1":
        return [clean, DataSource(root=str(input1_rainified), split="train")], []
    if method == "end_to_end":
        return [clean], [f"rainify.dsanet={dsanet}", f"rainify.rain_bank={bank}", f"rainify.p={p}",
                         f"rainify.intensity=[{lo}, {hi}]", "end_to_end.enabled=true"]
    if method == "random_rain":
        return [clean], [f"augment.random_rain_p={p}"]
    if method == "physical_rain":
        return [clean], [f"augment.physical_rain_p={p}", "augment.physical_rain_depth=ground_plane"]
    return [clean], []  # baseline: more clean training


def _train(cfg: ExperimentConfig, seg: SegmenterEntry, run: Path, sources: list[DataSource], steps: int,
           extra: list[str]) -> Path:
    from training.segmenter.trainer import train

    train_list = ", ".join(f"{{dataset: {s.dataset}, root: '{s.root}', split: {s.split}}}" for s in sources)
    val = f"val=[{{root: '{sources[0].root}', split: val}}]"
    overrides = [f"out={run}", f"train=[{train_list}]", val, f"steps={steps}",
                 f"batch_size={cfg.batch_size}", f"model.kind={seg.model.kind}",
                 f"augment.crop_size=[{cfg.crop_size[0]}, {cfg.crop_size[1]}]",
                 f"model.kwargs={json.dumps(seg.model.kwargs)}", f"device={cfg.device}",
                 f"cpu_threads={cfg.cpu_threads}", "resume=true", f"val_every={steps}", f"ckpt_every={steps}",
                 *cfg.train_overrides, *seg.overrides, *extra]
    latest = ckpt.latest_step_dir(run / "checkpoints")
    if latest is not None and ckpt.read_metadata(latest)[2] >= steps:
        return latest  # finished earlier
    return train(resolve_config(TrainSegmenterConfig, None, overrides))


def _evaluate(cfg: ExperimentConfig, model_ckpt: Path, dataset: Any, image_fn: ImageFn | None,
              out_json: Path) -> dict[str, Any]:
    if out_json.is_file():
        return json.loads(out_json.read_text())
    scores = evaluate_checkpoint(model_ckpt, dataset, device=_device(cfg), image_fn=image_fn)
    out_json.parent.mkdir(parents=True, exist_ok=True)
    out_json.write_text(json.dumps(json_safe(scores), indent=2) + "\n")
    return json_safe(scores)


def _then(first: ImageFn | None, second: ImageFn) -> ImageFn:
    if first is None:
        return second
    return lambda images, index: second(first(images, index), index)
