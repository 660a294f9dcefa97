"""`make demo`: the project's end-to-end run on a 2-core CPU, at toy sizes.

Each stage is a real command of the project, run as a subprocess exactly as a user would type it;
the command lines are printed and collected in out/demo/commands.sh so any step can be re-run.
Stages: procedural scenes (clean / rain / night twins) -> a clear -> rain -> night drive as a
rosbag2 -> a tiny DSANet -> rainified scenes -> an ERF-PSPNet trained on clean scenes, then
fine-tuned on clean scenes only (the clean-trained model), on clean + rainified and on clean +
night scenes -> a clear / rain / night estimator -> ONNX
export + verify -> replay_eval through the real ROS 2 graph over DDS of each model alone and of
the switching graph (estimator + a model per condition) -> an overlay strip (a row per condition,
labelled with the node's ~/condition and active model) and the summary tables.

Example:
    .venv/bin/python scripts/demo.py --out out/demo
    .venv/bin/python scripts/demo.py --out /tmp/demo --quick      # minimal sizes (the test)
    .venv/bin/python scripts/demo.py --out /tmp/demo-s1 --seed 1  # every training reseeded
    .venv/bin/python scripts/demo.py --dsanet runs/dsanet_synth-128x128   # rainify with a trained DSANet

--seed sets the seed of every training (DSANet, rainify's reference draw, the three segmenters,
the estimator); the scenes and the drive keep theirs, so runs with different seeds are scored on
the same frames and differ only in what was learned.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

PY = sys.executable
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the strip stage reads bags in-process with the project's own code
from demo_report import stage_strip, stage_summary  # noqa: E402 - scripts/, the script's folder, is on sys.path

CFG = "config/training"
IMAGE_TOPIC, GT_TOPIC = "/camera/image_raw", "/camera/gt_mask"


@dataclass(frozen=True)
class Sizes:
    """How big each stage is; --quick shrinks everything to a smoke test."""

    scenes: int = 64
    drive_per_condition: int = 24  # frames of each of clear, rain, night
    dsanet_steps: int = 150
    base_steps: int = 300  # the common start; the clean and rain models add finetune_steps each
    finetune_steps: int = 150
    night_steps: int = 100
    condition_steps: int = 60
    condition_batch: int = 16
    batch: int = 8
    hold_frames: int = 3  # the switching graph's switch_hold_frames
    rain_styles: int = 8  # rain references DSANet encodes into the rain-code bank
    # 0 = closed loop (each frame waits for its mask): both models are scored on every frame even
    # if the machine stalls for a moment; >0 = recorded rate (10 Hz) x this, newest frame wins.
    replay_rate: float = 0.0


QUICK = Sizes(scenes=12, drive_per_condition=4, dsanet_steps=2, base_steps=3, finetune_steps=2,
              night_steps=2, condition_steps=2, condition_batch=4, batch=2, rain_styles=2)


class Demo:
    """Runs and records the demo's commands."""

    def __init__(self, out: Path, seed: int = 0):
        self.out = out
        self.seed = seed
        self.out.mkdir(parents=True, exist_ok=True)
        self.log = out / "commands.sh"
        from rain_seg_ros.dds_env import dds_env

        # main() put these in os.environ; the user's own profile, if any, is what dds_env returns.
        dds_exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in dds_env().items())
        self.log.write_text("#!/usr/bin/env bash\n# Commands run by `make demo`, in order.\nset -e\n"
                            f"export {dds_exports} "
                            f"ROS_DOMAIN_ID=${{ROS_DOMAIN_ID:-{os.environ['ROS_DOMAIN_ID']}}}\n"
                            f"# scripts/demo.py --seed {seed}: the seed of every training below\n")
        self.summary: dict[str, object] = {"seed": seed, "stages_s": {}}

    def run(self, title: str, args: list[str], capture_json: bool = False) -> dict | None:
        cmd = [PY, "-m", *args]
        line = " ".join(shlex.quote(c) for c in ["python", "-m", *args])
        print(f"\n=== {title}\n$ {line}", flush=True)
        with self.log.open("a") as f:
            f.write(f"# {title}\n{line}\n")
        start = time.perf_counter()
        result = subprocess.run(cmd, check=False, text=True, cwd=REPO,
                                stdout=subprocess.PIPE if capture_json else None)
        if result.returncode != 0:
            raise SystemExit(f"demo stage failed ({title}): exit {result.returncode}")
        print(f"--- {title}: {time.perf_counter() - start:.1f} s", flush=True)
        if capture_json:
            data = json.loads(result.stdout)
            print(json.dumps(data, indent=1)[:1500])
            return data
        return None

    def timed(self, name: str, fn, *args):  # noqa: ANN001, ANN202 - a stage function and its args
        start = time.perf_counter()
        value = fn(self, *args)
        self.summary["stages_s"][name] = round(time.perf_counter() - start, 1)  # type: ignore[index]
        return value


def stage_scenes(demo: Demo, sz: Sizes, quick: bool) -> Path:
    scenes = demo.out / "scenes"
    demo.run("procedural driving scenes: clean / rain / night twins with labels and depth",
             ["training", "generate-scenes", "--out", str(scenes), "--count", str(sz.scenes),
              "--size", "128x256", "--seed", "0", "--splits", "train=0.75,val=0.125,test=0.125",
              "--rain-intensity", "0.4,1.0", "--night", "--overwrite", "--workers", "2"])
    if quick:
        return scenes
    demo.run("contact sheet of generated samples",
             ["training.scenes.contact_sheet", "--out", str(demo.out / "scenes_contact_sheet.png")])
    info = demo.run("dataset check: the Cityscapes reader on the generated rainy split",
                    ["training", "dataset-info", "--dataset", "cityscapes", "--root", str(scenes),
                     "--split", "train", "--opt", "variant=rain"], capture_json=True)
    demo.summary["train_samples"] = info["num_samples"] if info else None
    demo.summary["rainy_vs_clean_test"] = demo.run(
        "how much the rendered rain degrades the images (rainy vs clean, Y channel)",
        ["training", "evaluate-images", "--pred", str(scenes / "rain_pairs" / "test" / "rain"),
         "--gt", str(scenes / "rain_pairs" / "test" / "norain"), "--y-channel"], capture_json=True)
    return scenes


def stage_drive(demo: Demo, sz: Sizes) -> Path:
    bag = demo.out / "drive_bag"
    n = sz.drive_per_condition
    demo.run("a clear -> rain -> night drive along one generated street, as a rosbag2 (rgb8 camera, mono8 "
             "ground truth, the true condition per frame)",
             ["training", "make-drive-bag", "--out", str(bag), "--size", "128x256",
              "--conditions", f"clear:{n},rain:{n},night:{n}", "--seed", "3", "--rain-intensity", "0.8",
              "--image-topic", IMAGE_TOPIC, "--gt-topic", GT_TOPIC,
              "--image-dir", str(demo.out / "drive_frames"), "--overwrite"],
             capture_json=True)
    return bag


def stage_dsanet(demo: Demo, sz: Sizes, scenes: Path, trained: Path | None = None) -> Path:
    """Train the tiny DSANet (or take a trained one: --dsanet), then rainify the clean scenes."""
    run = trained
    if run is None:
        run = demo.out / "dsanet"
        shutil.rmtree(run, ignore_errors=True)
        demo.run("a tiny DSANet on the generated rain/clean pairs",
                 ["training", "train-dsanet", "--config", f"{CFG}/dsanet_demo_synth-64x64.yaml",
                  f"data.root={scenes / 'rain_pairs'}", f"out_dir={run}", f"steps={sz.dsanet_steps}",
                  f"save_every={sz.dsanet_steps}", f"image_every={sz.dsanet_steps}", f"seed={demo.seed}"])
    rainified = demo.out / "scenes_rainified"
    shutil.rmtree(rainified, ignore_errors=True)
    demo.run("DSANet-rainified copies of the clean scenes (labels copied)",
             ["training", "rainify", "--dsanet", str(run), "--images", str(scenes / "cityscapes"),
              "--rain-refs", str(scenes / "rain_pairs" / "train" / "rain"), "--out", str(rainified),
              "--styles", str(sz.rain_styles), "--intensity", "0.5,1.0", "--seed", str(demo.seed)])
    return rainified


def stage_segmenters(demo: Demo, sz: Sizes, scenes: Path, rainified: Path) -> dict[str, Path]:
    """A common start on clean scenes, then three fine-tunes of it: on clean scenes only (the
    clean-trained model), on clean + rainified and on clean + night twins. The clean and rain
    models get the same steps and recipe, so they differ only in the rainified half of the data."""
    base = demo.out / "seg_base"
    runs = {"clean": demo.out / "seg_clean", "rain": demo.out / "seg_rain", "night": demo.out / "seg_night"}
    for run in (base, *runs.values()):
        shutil.rmtree(run, ignore_errors=True)
    demo.run("ERF-PSPNet trained on clean scenes (the common start of the three models)",
             ["training", "train-segmenter", "--config", f"{CFG}/erf-pspnet_demo-clean_synth-128x256.yaml",
              f"train=[{{root: {scenes}}}]", f"val=[{{root: {scenes}, split: val}}]",
              f"batch_size={sz.batch}",
              f"out={base}", f"steps={sz.base_steps}", f"val_every={sz.base_steps}",
              f"ckpt_every={sz.base_steps}", f"seed={demo.seed}"])
    clean_val = f"val=[{{root: {scenes}, split: val}}]"
    finetunes = [
        ("clean", "erf-pspnet_demo-clean-finetune", f"train=[{{root: {scenes}}}]", clean_val,
         sz.finetune_steps, "fine-tuned on clean scenes only (the clean-trained model)"),
        ("rain", "erf-pspnet_demo-rain-finetune", f"train=[{{root: {scenes}}}, {{root: {rainified}}}]",
         clean_val, sz.finetune_steps, "fine-tuned on clean + DSANet-rainified scenes (1:1)"),
        ("night", "erf-pspnet_demo-night-finetune",
         f"train=[{{root: {scenes}}}, {{root: {scenes}, kwargs: {{variant: night}}}}]",
         f"val=[{{root: {scenes}, split: val, kwargs: {{variant: night}}}}]", sz.night_steps,
         "fine-tuned on clean + night twins (1:1; labelled night data)"),
    ]
    for name, config, train, val, steps, what in finetunes:
        demo.run(f"the common start {what}",
                 ["training", "train-segmenter", "--config", f"{CFG}/{config}_synth-128x256.yaml",
                  train, val, f"batch_size={sz.batch}", f"init_checkpoint={base}", f"out={runs[name]}",
                  f"steps={steps}", f"val_every={steps}", f"ckpt_every={steps}", f"seed={demo.seed}"])
    return runs


def stage_condition(demo: Demo, sz: Sizes, scenes: Path) -> Path:
    run, model = demo.out / "condition", demo.out / "models" / "condition.onnx"
    shutil.rmtree(run, ignore_errors=True)
    demo.run("a clear / rain / night estimator on the scenes' clean, rain and night twins",
             ["training", "train-condition", "--config", f"{CFG}/condition-net_demo_synth-64x128.yaml",
              f"train=[{{root: {scenes}}}]", f"val=[{{root: {scenes}, split: val}}]", f"out={run}",
              f"steps={sz.condition_steps}", f"batch_size={sz.condition_batch}",
              f"val_every={sz.condition_steps}", f"ckpt_every={sz.condition_steps}", f"seed={demo.seed}"])
    demo.run("export the estimator to ONNX (+ sidecar JSON)",
             ["export", "onnx", "--checkpoint", str(run), "--out", str(model)])
    return model


def stage_export(demo: Demo, runs: dict[str, Path]) -> dict[str, Path]:
    models = {}
    for name, run in runs.items():
        models[name] = demo.out / "models" / f"erf-pspnet_{name}.onnx"
        demo.run(f"export the {name} model to ONNX (+ sidecar JSON)",
                 ["export", "onnx", "--checkpoint", str(run), "--out", str(models[name])])
        demo.run(f"check the {name} ONNX model against its PyTorch checkpoint on drive frames",
                 ["export", "verify", "--model", str(models[name]), "--checkpoint", str(run),
                  "--images", str(demo.out / "drive_frames"), "--max-images", "4"])
    return models


def stage_replay(demo: Demo, sz: Sizes, bag: Path, models: dict[str, Path],
                 condition: Path) -> dict[str, dict]:
    """Each model alone, then the switching graph: model_path = the clean model (clear frames),
    the estimator, rain -> the rain model, night -> the night model."""
    switching = ["--model", str(models["clean"]), "--condition-model", str(condition),
                 "--models", f"rain:{models['rain']},night:{models['night']}",
                 "--switch-hold-frames", str(sz.hold_frames)]
    runs = {name: ["--model", str(model)] for name, model in models.items()} | {"switching": switching}
    reports = {}
    for name, args in runs.items():
        out = demo.out / f"replay_{name}"
        shutil.rmtree(out, ignore_errors=True)  # replay_eval refuses to overwrite its output bag
        what = "the switching graph" if name == "switching" else f"{name} model"
        demo.run(f"replay the drive through segmentation_node ({what}) over DDS, score vs GT",
                 ["rain_seg_ros.replay.replay_eval", str(bag), "--image-topic", IMAGE_TOPIC,
                  "--gt-topic", GT_TOPIC, *args, "--backend", "onnxruntime",
                  "--rate", str(sz.replay_rate), "--out", str(out)])
        reports[name] = json.loads((out / "report.json").read_text())
    return reports


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("out/demo"))
    parser.add_argument("--quick", action="store_true", help="tiny step counts and sizes (smoke test)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of every training (DSANet, rainify, segmenters, estimator); scenes and "
                             "drive keep theirs")
    parser.add_argument("--dsanet", type=Path, default=None, metavar="RUN",
                        help="a trained DSANet run dir or checkpoint to rainify with, instead of training "
                             "the tiny one (e.g. the must-show recipe, which needs ~25 min: docs/demo.md)")
    args = parser.parse_args(argv)
    if args.dsanet is not None and not args.dsanet.exists():
        parser.error(f"--dsanet: {args.dsanet} does not exist")
    # DDS stays on loopback with its own domain (the Makefile exports these; direct runs too), and
    # the replay's 128x256 frames travel through the FastDDS profile the launch file uses.
    from rain_seg_ros.dds_env import dds_env

    try:
        for name, value in dds_env().items():
            os.environ.setdefault(name, value)
    except FileNotFoundError as err:
        raise SystemExit(f"demo: {err}") from None
    os.environ.setdefault("ROS_DOMAIN_ID", str(100 + os.getpid() % 90))
    sz = QUICK if args.quick else Sizes()
    out = args.out.resolve()
    # Commands run from the repository root; paths inside it are recorded relative (re-runnable).
    demo = Demo(out.relative_to(REPO) if out.is_relative_to(REPO) else out, seed=args.seed)
    start = time.perf_counter()
    scenes = demo.timed("scenes", stage_scenes, sz, args.quick)
    bag = demo.timed("drive bag", stage_drive, sz)
    trained = args.dsanet.resolve() if args.dsanet is not None else None
    if trained is not None:
        demo.summary["dsanet"] = str(trained)
    rainified = demo.timed("DSANet + rainify", stage_dsanet, sz, scenes, trained)
    runs = demo.timed("segmenters", stage_segmenters, sz, scenes, rainified)
    condition = demo.timed("condition estimator", stage_condition, sz, scenes)
    models = demo.timed("export + verify", stage_export, runs)
    reports = demo.timed("replay over DDS", stage_replay, sz, bag, models, condition)
    demo.timed("overlay strip", lambda d: stage_strip(d.out, bag, IMAGE_TOPIC, GT_TOPIC, tuple(reports)))
    demo.summary["wall_s"] = round(time.perf_counter() - start, 1)
    demo.summary["stages_s"]["total"] = demo.summary["wall_s"]  # type: ignore[index]
    stage_summary(demo.out, demo.summary, reports)
    (demo.out / "summary.json").write_text(json.dumps(demo.summary, indent=2))
    print(f"\nDemo finished in {demo.summary['wall_s']} s. Outputs in {demo.out}/ "
          f"(commands.sh re-runs every step).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
