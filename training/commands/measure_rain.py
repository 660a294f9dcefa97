"""`python -m training measure-rain` — does rain look like rain? Detector verdict, streak and
artefact measurements of a folder of images (JSON on stdout).

Examples:
    # real procedural rain, with its clean twins (adds the rain-layer measurements)
    python -m training measure-rain --detector runs/rain_detector \\
        --images /tmp/scenes/cityscapes_rain/leftImg8bit/test --clean /tmp/scenes/cityscapes/leftImg8bit/test
    # DSANet-rainified images, compared with the real rain's numbers saved before
    python -m training measure-rain --detector runs/rain_detector --images /tmp/rainified/leftImg8bit/test \\
        --clean /tmp/scenes/cityscapes/leftImg8bit/test --reference real.json
    # a comparison row: render a baseline's rain onto the clean images, then measure it
    python -m training measure-rain --detector runs/rain_detector --baseline physical \\
        --clean /tmp/scenes/cityscapes/leftImg8bit/test --out /tmp/physical --intensity 1.0

Output: `images`, `called_rainy` (share with probability > threshold), `mean_probability`,
`grid_step_ratio` per k (mean |step| across k-pixel grid lines / elsewhere; ≈ 1 without block
artefacts), the detector's own held-out scores, and with --clean a `rain_layer` section
(`hf_energy`, `hf_share`, `mean_abs`, `tilt_deg`, `coherence`; training/rain_realism/streaks.py).
Images pair with clean images by name (docs/metrics.md); clean images without a partner are skipped.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

MAX_REFERENCE_BYTES = 10_000_000   # a --reference is a measure-rain output: a few kB


def _intensity(text: str) -> tuple[float, float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--intensity must be a number or LO,HI, got {text!r}") from None
    if len(values) not in (1, 2) or not all(0.0 <= v <= 1.0 for v in values) or values[0] > values[-1]:
        raise argparse.ArgumentTypeError(f"--intensity must be one value or LO,HI in [0, 1], got {text!r}")
    return values[0], values[-1]


def _grid(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--grid must be integers like 2,4,8, got {text!r}") from None
    if not values or min(values) < 2:
        raise argparse.ArgumentTypeError(f"--grid spacings must be >= 2 pixels, got {text!r}")
    return values


def _reference(path: Path) -> dict[str, Any]:
    """The `rain_layer` section of an earlier measure-rain output (plain JSON, size-bounded)."""
    if not path.is_file() or path.stat().st_size > MAX_REFERENCE_BYTES:
        raise ValueError(f"--reference {path}: not a measure-rain JSON file (missing or over "
                         f"{MAX_REFERENCE_BYTES // 1_000_000} MB)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except RecursionError:   # nesting deep enough to exhaust the parser: not a measure-rain output
        raise ValueError(f"--reference {path}: not a measure-rain JSON file (nested too deeply)") from None
    layer = data.get("rain_layer") if isinstance(data, dict) else None
    keys = ("hf_energy", "tilt_deg", "coherence")
    if not isinstance(layer, dict) or not all(isinstance(layer.get(k), (int, float)) for k in keys):
        raise ValueError(f"--reference {path}: no rain_layer section; "
                         "measure the real rain with --clean first")
    return {k: float(layer[k]) for k in keys}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m training measure-rain", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--detector", required=True, type=Path,
                   help="train-rain-detector output (run dir, step dir or file)")
    p.add_argument("--images", type=Path, help="folder of images to measure (searched recursively)")
    p.add_argument("--clean", type=Path, help="their clean sources: adds the rain-layer measurements")
    p.add_argument("--baseline", choices=("random-rain", "physical"),
                   help="render this baseline's rain onto --clean into --out, then measure it")
    p.add_argument("--out", type=Path, help="where --baseline writes its images")
    p.add_argument("--intensity", type=_intensity, default=(0.3, 1.0),
                   help="physical baseline: LO,HI (default 0.3,1.0)")
    p.add_argument("--seed", type=int, default=0, help="baseline rain seed")
    p.add_argument("--grid", type=_grid, default=(2, 4, 8), help="grid spacings in pixels (default 2,4,8)")
    p.add_argument("--threshold", type=float, default=None, help="rainy above this (default: the detector's)")
    p.add_argument("--reference", type=Path, help="measure-rain JSON of real rain: adds `vs_reference`")
    p.add_argument("--per-image", action="store_true", help="also list each image's numbers")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.baseline:
        if args.images or not args.clean or not args.out:
            parser.error("--baseline needs --clean and --out, and no --images")
    elif not args.images:
        parser.error("give --images (or --baseline with --clean and --out)")
    reference = _reference(args.reference) if args.reference else None
    if reference is not None and not args.clean:
        parser.error("--reference compares rain layers: give --clean too")

    import torch

    from training.rain_realism.baselines import render_baseline
    from training.rain_realism.detector import load_detector
    from training.rain_realism.measure import measure_folder
    from training.rain_realism.streaks import compare_layers

    torch.set_num_threads(1)   # shared 2-core machines: one thread is as fast for a tiny net
    net, meta = load_detector(args.detector)
    images = args.images
    if args.baseline:
        render_baseline(args.baseline, args.clean, args.out, intensity=args.intensity, seed=args.seed)
        images = args.out
    threshold = args.threshold if args.threshold is not None else float(meta.get("threshold", 0.5))
    result = measure_folder(net, images, args.clean, threshold=threshold, grid=args.grid,
                            per_image=args.per_image)
    if reference is not None and "rain_layer" in result:
        result["vs_reference"] = compare_layers(result["rain_layer"], reference)
    result["source"] = {"images": str(images), "clean": str(args.clean) if args.clean else None,
                        "baseline": args.baseline, "detector": str(args.detector)}
    result["detector_heldout"] = meta.get("heldout")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
