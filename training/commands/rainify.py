"""Rainy copies of a labelled driving dataset with a trained DSANet (labels copied unchanged).

Example:
    python -m training rainify --dsanet runs/dsanet_synth --images /tmp/scenes/cityscapes \
        --rain-refs /tmp/scenes/rain_pairs/train/rain --out /tmp/scenes_rainified \
        --styles 8 --intensity 0.5,1.0 --seed 0

The output has the input's layout (Cityscapes: leftImg8bit rainified, gtFine copied; KITTI:
image_2 rainified; folder: images/ rainified) plus rainify_manifest.jsonl (source image,
rain reference, style, intensity per output) and rain_bank.safetensors (the K rain codes
used, reusable by the runtime). Re-running the same command resumes: finished files are
skipped. A bank given with --bank is used as is instead of encoding --rain-refs.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _range(text: str) -> tuple[float, float]:
    parts = [float(v) for v in text.split(",")]
    if len(parts) == 1:
        parts *= 2
    if len(parts) != 2:
        raise argparse.ArgumentTypeError(f"expected LO,HI or one value, got {text!r}")
    return parts[0], parts[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training rainify", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dsanet", required=True, help="DSANet checkpoint (run dir, step dir or file)")
    parser.add_argument("--images", required=True, help="dataset root (Cityscapes, KITTI or images/ layout)")
    parser.add_argument("--rain-refs", help="folder of rainy reference images (rain styles)")
    parser.add_argument("--bank", help="existing rain-code bank (.safetensors) instead of --rain-refs")
    parser.add_argument("--out", required=True, help="output root (same layout as --images)")
    parser.add_argument("--styles", type=int, default=None, help="K references drawn from --rain-refs "
                        "(default: all)")
    parser.add_argument("--intensity", type=_range, default=(1.0, 1.0), help="LO,HI range (default 1.0)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--output", choices=("decoded", "residual"), default=None,
                        help="decoded: G's redraw of the whole image; residual: the input plus only what the "
                        "rain code changes (default: the checkpoint's rainify_output, else decoded)")
    args = parser.parse_args(argv)
    if (args.rain_refs is None) == (args.bank is None):
        parser.error("give exactly one of --rain-refs and --bank")

    from training.dsanet.api import DSANet
    from training.dsanet.bank import build_rain_bank, load_rain_bank, save_rain_bank
    from training.dsanet.io import list_images
    from training.dsanet.rainify import rainify_dataset

    net = DSANet.from_checkpoint(args.dsanet, device=args.device, rainify_output=args.output)
    out = Path(args.out)
    if args.bank:
        codes, meta = load_rain_bank(args.bank)
        sources = meta["sources"]
    else:
        refs = list_images(args.rain_refs)
        if not refs:
            raise FileNotFoundError(f"--rain-refs {args.rain_refs}: no images under it")
        codes, sources = build_rain_bank(net, refs, k=args.styles, seed=args.seed)
        save_rain_bank(out / "rain_bank.safetensors", codes, sources, net)
    counts = rainify_dataset(net, Path(args.images), out, codes, sources,
                             intensity=args.intensity, seed=args.seed)
    print(json.dumps(counts | {"styles": len(sources), "output": net.rainify_output, "out": str(out)}))
    return 0
