"""The mask-restoration experiment: the paper's two ablation tables and the closed loop.

Stages (each skipped when its output exists, so an interrupted run continues):
  1. scenes      generate-scenes into OUT/scenes (or use scenes.root)
  2. segmenter   train-segmenter on the fine labels (feature network, FCN-score judge, "fine" row)
  3. spade       train-spade, perceptual loss through the segmenter's encoder
  4. restorers   per task x loss row x seed: train-mask-restorer, then evaluate-mask-restorer;
                 the "none" and "fine" reference rows per task x seed
  5. closed loop coarse labels of the train split -> restore-masks -> a segmenter on raw
                 coarse and one on restored coarse labels; with (2), scored on held-out fine labels

Example:
    cfg = resolve_config(MaskRestorationExperimentConfig,
                         "config/training/experiment-mask-restoration_synth-32x64.yaml")
    run_mask_restoration(cfg)     # OUT/results.json, OUT/results.md, OUT/grid_<task>.png, OUT/curves.png
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from training.engine import checkpoint as ckpt
from training.engine.config import ConfigError, config_to_dict, resolve_config, save_config
from training.restoration.ablation_config import LOSS_ROWS, TASKS, MaskRestorationExperimentConfig
from training.restoration.ablation_report import write_curves, write_grid, write_report
from training.restoration.config import MaskRestorerConfig, SpadeTrainConfig
from training.restoration.incomplete import coarse_mask
from training.segmenter.config import TrainSegmenterConfig
from training.segmenter.evaluation import evaluate_checkpoint, json_safe
from training.segmenter.experiment import Stages, _generate_scenes

log = logging.getLogger(__name__)


def run_mask_restoration(cfg: MaskRestorationExperimentConfig) -> dict[str, Any]:
    unknown = sorted(set(cfg.rows) - set(LOSS_ROWS)) + sorted(set(cfg.tasks) - set(TASKS))
    if unknown or cfg.closed_loop_row not in (*LOSS_ROWS, "best") or not cfg.seeds:
        raise ConfigError(f"unknown row(s)/task(s) {unknown} or closed_loop_row {cfg.closed_loop_row!r} "
                          f"or no seeds; rows: {list(LOSS_ROWS)} (closed_loop_row also 'best'), "
                          f"tasks: {list(TASKS)}")
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    save_config(cfg, out / "config.yaml")
    stages = Stages(out / "stages.jsonl")
    scenes = Path(cfg.scenes.root) if cfg.scenes.root else stages.run("scenes", _generate_scenes, cfg, out)
    fine_seg = stages.run("segmenter_fine", _train_segmenter, cfg, out / "segmenter_fine",
                          {"dataset": "cityscapes", "root": str(scenes)})
    spade = stages.run("spade", _train_spade, cfg, out / "spade", scenes, fine_seg)

    tables: dict[str, dict[str, list[dict[str, Any]]]] = {}
    runs: dict[tuple[str, str, int], Path] = {}
    for task in cfg.tasks:
        tables[task] = {"fine": [], "none": [], **{row: [] for row in cfg.rows}}
        for seed in cfg.seeds:
            ref = stages.run(f"{task}/reference/seed{seed}", _evaluate, cfg, None, scenes, spade, fine_seg,
                             task, seed, out / "eval" / f"{task}_reference_seed{seed}.json")
            tables[task]["fine"].append(ref["rows"]["fine"])
            tables[task]["none"].append(ref["rows"]["incomplete"])
            for row in cfg.rows:
                run = stages.run(f"{task}/{row}/seed{seed}/train", _train_restorer, cfg,
                                 out / "restorers" / f"{task}_{row}_seed{seed}", scenes, spade, fine_seg,
                                 task, row, seed)
                runs[(task, row, seed)] = run
                scores = stages.run(f"{task}/{row}/seed{seed}/eval", _evaluate, cfg, run, scenes, spade,
                                    fine_seg, task, seed, out / "eval" / f"{task}_{row}_seed{seed}.json")
                tables[task][row].append(scores["rows"]["restored"])
        grid_run = runs.get((task, pick_closed_loop_row(cfg, tables[task]), cfg.seeds[0]))
        if grid_run is not None:
            write_grid(grid_run, scenes, cfg.eval_split, out / f"grid_{task}.png", device=cfg.device)

    closed: dict[str, Any] = {}
    loop_row = pick_closed_loop_row(cfg, tables["sparse"]) if "sparse" in tables else None
    loop_run = runs.get(("sparse", loop_row, cfg.seeds[0])) if loop_row else None
    if loop_run is not None:
        coarse = stages.run("closed_loop/coarse_labels", _write_coarse, cfg, scenes, out / "coarse")
        restored = stages.run("closed_loop/restore", _restore, cfg, loop_run, coarse, out / "restored")
        segs = {"fine": fine_seg,
                "raw_coarse": stages.run("closed_loop/segmenter_raw_coarse", _train_segmenter, cfg,
                                         out / "segmenter_raw_coarse",
                                         {"dataset": "cityscapes_coarse", "root": str(coarse)}),
                "restored_coarse": stages.run("closed_loop/segmenter_restored", _train_segmenter, cfg,
                                              out / "segmenter_restored",
                                              {"dataset": "cityscapes", "root": str(restored)})}
        for name, seg in segs.items():
            closed[name] = stages.run(f"closed_loop/eval_{name}", _evaluate_segmenter, cfg, seg, scenes,
                                      out / "eval" / f"closed_loop_{name}.json")

    summary = {"config": config_to_dict(cfg), "stage_seconds": stages.seconds(), "tables": tables,
               "closed_loop": closed, "closed_loop_row": loop_row if closed else None}
    (out / "results.json").write_text(json.dumps(json_safe(summary), indent=2) + "\n")
    write_report(summary, out / "results.md")
    write_curves(out, list(cfg.rows), list(tables), list(cfg.seeds))
    return summary


def pick_closed_loop_row(cfg: MaskRestorationExperimentConfig, table: dict[str, list[dict[str, Any]]]) -> str:
    """The restorer row whose restored coarse labels train the closed loop: cfg.closed_loop_row,
    or for "best" the trained row of highest mean mIoU on the eval split (chosen on val, the
    loop is scored on test). A fixed row can be one that collapsed at this scale, and then the
    loop measures the collapse, not restoration."""
    if cfg.closed_loop_row != "best":
        return cfg.closed_loop_row
    means = {row: float(np.mean([r["mIoU"] for r in table[row]])) for row in cfg.rows if table.get(row)}
    return max(means, key=lambda row: means[row])


def _finished(run: Path, steps: int) -> Path | None:
    latest = ckpt.latest_step_dir(run / "checkpoints")
    return latest if latest is not None and ckpt.read_metadata(latest)[2] >= steps else None


def _train_segmenter(cfg: MaskRestorationExperimentConfig, run: Path, source: dict[str, str]) -> Path:
    from training.segmenter.trainer import train

    seg = cfg.segmenter
    h, w = cfg.scenes.size
    train_set = f"train=[{{dataset: {source['dataset']}, root: '{source['root']}', split: train}}]"
    overrides = [f"out={run}", train_set, "val=[]", f"steps={seg.steps}",
                 f"batch_size={cfg.segmenter_batch_size}",
                 f"model.kind={seg.model.kind}", f"model.kwargs={json.dumps(seg.model.kwargs)}",
                 f"augment.crop_size=[{h}, {w}]", "augment.scale_range=[1.0, 1.0]", f"device={cfg.device}",
                 f"cpu_threads={cfg.cpu_threads}", "resume=true", f"ckpt_every={seg.steps}",
                 "num_workers=0", "tensorboard=false", *seg.overrides]
    return _finished(run, seg.steps) or train(resolve_config(TrainSegmenterConfig, None, overrides))


def _train_spade(cfg: MaskRestorationExperimentConfig, run: Path, scenes: Path, seg: Path) -> Path:
    from training.restoration.spade_trainer import train_spade

    spade = resolve_config(SpadeTrainConfig, cfg.spade_config, [
        f"out_dir={run}", f"data.root={scenes}", f"data.size=[{cfg.scenes.size[0]}, {cfg.scenes.size[1]}]",
        f"labels={cfg.labels}", f"perceptual.segmenter={seg}", f"device={cfg.device}",
        f"cpu_threads={cfg.cpu_threads}", "resume=true", "progress=false", *cfg.spade_overrides])
    return _finished(run, spade.steps) or train_spade(spade)


def _train_restorer(cfg: MaskRestorationExperimentConfig, run: Path, scenes: Path, spade: Path, seg: Path,
                    task: str, row: str, seed: int) -> Path:
    from training.restoration.restorer_trainer import train_restorer

    ce, vgg, l1 = LOSS_ROWS[row]
    restorer = resolve_config(MaskRestorerConfig, cfg.restorer_config, [
        f"out_dir={run}", f"data.root={scenes}", f"data.size=[{cfg.scenes.size[0]}, {cfg.scenes.size[1]}]",
        f"labels={cfg.labels}", f"spade={spade}", f"perceptual.segmenter={seg}", f"task={task}",
        f"seed={seed}", f"loss.ce={ce}", f"loss.vgg={vgg}", f"loss.l1={l1}", f"device={cfg.device}",
        f"cpu_threads={cfg.cpu_threads}", "resume=true", "progress=false", *cfg.restorer_overrides])
    return _finished(run, restorer.steps) or train_restorer(restorer)


def _evaluate(cfg: MaskRestorationExperimentConfig, restorer: Path | None, scenes: Path, spade: Path,
              seg: Path, task: str, seed: int, out_json: Path) -> dict[str, Any]:
    from training.restoration.evaluate import evaluate_restorer

    if out_json.is_file():
        return dict(json.loads(out_json.read_text()))
    # The "none" row must see the incomplete masks the restorers are trained and scored on
    # (the restorer config's sparse settings), not IncompleteConfig's defaults.
    incomplete = resolve_config(MaskRestorerConfig, cfg.restorer_config, cfg.restorer_overrides).incomplete
    result = evaluate_restorer(restorer, root=scenes, split=cfg.eval_split, spade=spade, segmenter=seg,
                               restore_task=task, incomplete=incomplete, seed=seed, device=cfg.device)
    _write_json(out_json, result)
    return result


def _write_coarse(cfg: MaskRestorationExperimentConfig, scenes: Path, out: Path) -> Path:
    """gtCoarse-style labelIds (gaps = 0) of the train split, with the restorer config's
    sparse settings, in a Cityscapes root that links the scenes' images."""
    from training.restoration.data import find_items, read_mask

    inc = resolve_config(MaskRestorerConfig, cfg.restorer_config, cfg.restorer_overrides).incomplete
    images = out / "leftImg8bit"
    if not images.exists():
        out.mkdir(parents=True, exist_ok=True)
        os.symlink((scenes / "cityscapes" / "leftImg8bit").resolve(), images)
    rng = np.random.default_rng(cfg.seeds[0])
    for item in find_items(scenes, "train"):
        fine = read_mask(item, "label_ids")
        coarse = coarse_mask(fine, erode_px=inc.erode_px, min_area=inc.min_area, drop_p=inc.drop_p, rng=rng)
        coarse[coarse == 255] = 0                                     # labelIds mark gaps with 0
        path = out / "gtCoarse" / "train" / item.image.parent.name / f"{item.name}_gtCoarse_labelIds.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(coarse).save(path)
    return out


def _restore(cfg: MaskRestorationExperimentConfig, restorer: Path, coarse: Path, out: Path) -> Path:
    from training.restoration.restore import restore_masks

    restore_masks(restorer, coarse, out, split="train", device=cfg.device, progress=False)
    return out


def _evaluate_segmenter(cfg: MaskRestorationExperimentConfig, seg: Path, scenes: Path,
                        out_json: Path) -> dict[str, Any]:
    from training.data import build_dataset

    if out_json.is_file():
        return dict(json.loads(out_json.read_text()))
    scores = json_safe(evaluate_checkpoint(seg, build_dataset("cityscapes", scenes, cfg.test_split),
                                           device=cfg.device))
    _write_json(out_json, scores)
    return dict(scores)


def _write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2) + "\n")

