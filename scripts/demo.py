"""`make demo`: the project's end-to-end run on a 2-core CPU, at toy sizes.

Each stage is a real command of the project, run as a subprocess exactly as a user would type it;
the command lines are printed and collected in out/demo/commands.sh so any step can be re-run.
Stages: procedural scenes -> a rainy drive as a rosbag2 -> a tiny DSANet -> rainified scenes ->
a clean-trained and a rain-fine-tuned ERF-PSPNet -> ONNX export + verify -> replay_eval of each
model through the real ROS 2 graph over DDS -> an overlay strip and a summary table.

Example:
    .venv/bin/python scripts/demo.py --out out/demo
    .venv/bin/python scripts/demo.py --out /tmp/demo --quick      # minimal sizes (the test)
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
CFG = "config/training"
IMAGE_TOPIC, GT_TOPIC = "/camera/image_raw", "/camera/gt_mask"


@dataclass(frozen=True)
class Sizes:
    """How big each stage is; --quick shrinks everything to a smoke test."""

    scenes: int = 64
    drive_frames: int = 50
    dsanet_steps: int = 150
    clean_steps: int = 300
    finetune_steps: int = 150
    batch: int = 8
    rain_styles: int = 8  # rain references DSANet encodes into the rain-code bank
    # 0 = closed loop (each frame waits for its mask): both models are scored on every frame even
    # if the machine stalls for a moment; >0 = recorded rate (10 Hz) x this, newest frame wins.
    replay_rate: float = 0.0


QUICK = Sizes(scenes=12, drive_frames=10, dsanet_steps=2, clean_steps=3, finetune_steps=2, batch=2,
              rain_styles=2)


class Demo:
    """Runs and records the demo's commands."""

    def __init__(self, out: Path):
        self.out = out
        self.out.mkdir(parents=True, exist_ok=True)
        self.log = out / "commands.sh"
        from rain_seg_ros.dds_env import dds_env

        # main() put these in os.environ; the user's own profile, if any, is what dds_env returns.
        dds_exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in dds_env().items())
        self.log.write_text("#!/usr/bin/env bash\n# Commands run by `make demo`, in order.\nset -e\n"
                            f"export {dds_exports} "
                            f"ROS_DOMAIN_ID=${{ROS_DOMAIN_ID:-{os.environ['ROS_DOMAIN_ID']}}}\n")
        self.summary: dict[str, object] = {"stages_s": {}}

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
    demo.run("procedural driving scenes: clean / rain twins with labels and depth",
             ["training", "generate-scenes", "--out", str(scenes), "--count", str(sz.scenes),
              "--size", "128x256", "--seed", "0", "--splits", "train=0.75,val=0.125,test=0.125",
              "--rain-intensity", "0.4,1.0", "--overwrite", "--workers", "2"])
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
    demo.run("a rainy drive along one generated street, as a rosbag2 (rgb8 camera + mono8 ground truth)",
             ["training", "make-drive-bag", "--out", str(bag), "--frames", str(sz.drive_frames),
              "--size", "128x256", "--seed", "3", "--rain-intensity", "0.8", "--image-topic", IMAGE_TOPIC,
              "--gt-topic", GT_TOPIC, "--image-dir", str(demo.out / "drive_frames"), "--overwrite"],
             capture_json=True)
    return bag


def stage_dsanet(demo: Demo, sz: Sizes, scenes: Path) -> Path:
    run = demo.out / "dsanet"
    shutil.rmtree(run, ignore_errors=True)
    demo.run("a tiny DSANet on the generated rain/clean pairs",
             ["training", "train-dsanet", "--config", f"{CFG}/dsanet_demo_synth-64x64.yaml",
              f"data.root={scenes / 'rain_pairs'}", f"out_dir={run}", f"steps={sz.dsanet_steps}",
              f"save_every={sz.dsanet_steps}", f"image_every={sz.dsanet_steps}"])
    rainified = demo.out / "scenes_rainified"
    shutil.rmtree(rainified, ignore_errors=True)
    demo.run("DSANet-rainified copies of the clean scenes (labels copied)",
             ["training", "rainify", "--dsanet", str(run), "--images", str(scenes / "cityscapes"),
              "--rain-refs", str(scenes / "rain_pairs" / "train" / "rain"), "--out", str(rainified),
              "--styles", str(sz.rain_styles), "--intensity", "0.5,1.0", "--seed", "0"])
    return rainified


def stage_segmenters(demo: Demo, sz: Sizes, scenes: Path, rainified: Path) -> dict[str, Path]:
    runs = {"clean": demo.out / "seg_clean", "rain": demo.out / "seg_rain"}
    for run in runs.values():
        shutil.rmtree(run, ignore_errors=True)
    demo.run("ERF-PSPNet trained on clean scenes",
             ["training", "train-segmenter", "--config", f"{CFG}/erf-pspnet_demo-clean_synth-128x256.yaml",
              f"train=[{{root: {scenes}}}]", f"val=[{{root: {scenes}, split: val}}]",
              f"batch_size={sz.batch}",
              f"out={runs['clean']}", f"steps={sz.clean_steps}", f"val_every={sz.clean_steps}",
              f"ckpt_every={sz.clean_steps}"])
    demo.run("the clean ERF-PSPNet fine-tuned on clean + DSANet-rainified scenes (1:1)",
             ["training", "train-segmenter", "--config",
              f"{CFG}/erf-pspnet_demo-rain-finetune_synth-128x256.yaml",
              f"train=[{{root: {scenes}}}, {{root: {rainified}}}]", f"val=[{{root: {scenes}, split: val}}]",
              f"batch_size={sz.batch}", f"init_checkpoint={runs['clean']}", f"out={runs['rain']}",
              f"steps={sz.finetune_steps}", f"val_every={sz.finetune_steps}",
              f"ckpt_every={sz.finetune_steps}"])
    return runs


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


def stage_replay(demo: Demo, sz: Sizes, bag: Path, models: dict[str, Path]) -> dict[str, dict]:
    reports = {}
    for name, model in models.items():
        out = demo.out / f"replay_{name}"
        shutil.rmtree(out, ignore_errors=True)  # replay_eval refuses to overwrite its output bag
        demo.run(f"replay the drive through segmentation_node ({name} model) over DDS, score vs GT",
                 ["rain_seg_ros.replay.replay_eval", str(bag), "--image-topic", IMAGE_TOPIC,
                  "--gt-topic", GT_TOPIC, "--model", str(model), "--backend", "onnxruntime",
                  "--rate", str(sz.replay_rate), "--out", str(out)])
        reports[name] = json.loads((out / "report.json").read_text())
    return reports


def stage_strip(demo: Demo, bag: Path, n_frames: int = 5) -> Path:
    """Rainy input | clean model | rain-fine-tuned model | ground truth, for frames of the drive,
    from the bag and the masks the graph published (replay output bags)."""
    import numpy as np
    from PIL import Image, ImageDraw

    from rain_seg_ros.codec import image_to_array
    from rain_seg_ros.labels import IGNORE_INDEX, colorize
    from rain_seg_ros.replay.bag_io import read_topic

    def by_stamp(path: Path, topic: str) -> dict[int, np.ndarray]:
        return {m.stamp_ns: image_to_array(m.msg) for m in read_topic(path, topic)}

    rgb, gt = by_stamp(bag, IMAGE_TOPIC), by_stamp(bag, GT_TOPIC)
    masks = {name: by_stamp(demo.out / f"replay_{name}" / "masks_bag", "/replay/mask")
             for name in ("clean", "rain")}
    stamps = sorted(set(rgb) & set(masks["clean"]) & set(masks["rain"]))
    if not stamps:
        raise SystemExit("no frame has masks from both models: nothing to draw")

    def overlay(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        blend = (0.45 * image + 0.55 * colorize(mask)).astype(np.uint8)
        return np.where((mask == IGNORE_INDEX)[..., None], image, blend)

    def panels(s: int) -> np.ndarray:  # (H, 4W, 3)
        return np.concatenate([rgb[s], overlay(rgb[s], masks["clean"][s]), overlay(rgb[s], masks["rain"][s]),
                               overlay(rgb[s], gt[s])], axis=1)

    picks = [stamps[round(i)] for i in np.linspace(0, len(stamps) - 1, min(n_frames, len(stamps)))]
    body = np.concatenate([panels(s) for s in picks], axis=0)
    header = Image.new("RGB", (body.shape[1], 18), (255, 255, 255))
    width = body.shape[1] // 4
    for i, title in enumerate(("rainy input", "clean-trained", "rain-fine-tuned", "ground truth")):
        ImageDraw.Draw(header).text((i * width + 4, 3), title, fill=(0, 0, 0))
    strip = demo.out / "overlay_strip.png"
    Image.fromarray(np.concatenate([np.asarray(header), body], axis=0)).save(strip)
    frames = [Image.fromarray(panels(s)) for s in stamps]
    frames[0].save(demo.out / "overlay.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
    print(f"overlay strip: {strip} ({len(picks)} frames), animation: {demo.out / 'overlay.gif'}")
    return strip


def stage_summary(demo: Demo, reports: dict[str, dict]) -> str:
    rows = ["| model | mIoU on the rainy drive (%) | pixel acc. (%) | frames scored / sent | "
            "latency p50 / p95 (ms) | output FPS |", "|---|---:|---:|---:|---:|---:|"]
    titles = {"clean": "ERF-PSPNet, clean-trained", "rain": "ERF-PSPNet, rain-fine-tuned (DSANet rainify)"}
    for name, rep in reports.items():
        sc, lat, run = rep["scores"], rep["latency_ms"], rep["run"]
        rows.append(f"| {titles[name]} | {100 * sc['miou']:.1f} | {100 * sc['pixel_accuracy']:.1f} | "
                    f"{sc['frames_scored']} / {run['frames_sent']} | {lat['p50']:.1f} / {lat['p95']:.1f} | "
                    f"{run['output_fps']:.1f} |")
        demo.summary[f"miou_{name}"] = sc["miou"]
    diff = 100 * (reports["rain"]["scores"]["miou"] - reports["clean"]["scores"]["miou"])
    verdict = (f"The rain-fine-tuned model {'beats' if diff > 0 else 'does not beat'} the clean-trained one "
               f"on the rainy drive ({diff:+.1f} mIoU points).")
    stages = "\n".join(f"| {k} | {v} |" for k, v in demo.summary["stages_s"].items())  # type: ignore[union-attr]
    text = (f"# Demo summary\n\n{chr(10).join(rows)}\n\n{verdict}\n\n"
            f"Replay: {reports['clean']['rate']} x recorded rate (0 = as fast as the graph keeps up), "
            "backend onnxruntime (CPU).\n\n| stage | wall (s) |\n|---|---:|\n" + stages + "\n")
    (demo.out / "summary.md").write_text(text)
    print("\n" + text)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("out/demo"))
    parser.add_argument("--quick", action="store_true", help="tiny step counts and sizes (smoke test)")
    args = parser.parse_args(argv)
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
    demo = Demo(out.relative_to(REPO) if out.is_relative_to(REPO) else out)
    start = time.perf_counter()
    scenes = demo.timed("scenes", stage_scenes, sz, args.quick)
    bag = demo.timed("drive bag", stage_drive, sz)
    rainified = demo.timed("DSANet + rainify", stage_dsanet, sz, scenes)
    runs = demo.timed("segmenters", stage_segmenters, sz, scenes, rainified)
    models = demo.timed("export + verify", stage_export, runs)
    reports = demo.timed("replay over DDS", stage_replay, sz, bag, models)
    demo.timed("overlay strip", stage_strip, bag)
    demo.summary["wall_s"] = round(time.perf_counter() - start, 1)
    demo.summary["stages_s"]["total"] = demo.summary["wall_s"]  # type: ignore[index]
    stage_summary(demo, reports)
    (demo.out / "summary.json").write_text(json.dumps(demo.summary, indent=2))
    print(f"\nDemo finished in {demo.summary['wall_s']} s. Outputs in {demo.out}/ "
          f"(commands.sh re-runs every step).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
