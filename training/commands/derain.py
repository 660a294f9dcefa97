"""Derain a folder of images with a trained DSANet (same relative paths under --out).

Example:
    python -m training derain --dsanet runs/dsanet_synth \
        --in /tmp/scenes/rain_pairs/test/rain --out /tmp/derained

Existing outputs are skipped, so an interrupted run resumes; files are written atomically.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training derain", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dsanet", required=True, help="DSANet checkpoint (run dir, step dir or file)")
    parser.add_argument("--in", dest="inp", required=True, help="folder of rainy images (recursive)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)

    from tqdm import tqdm

    from training.dsanet.api import DSANet
    from training.dsanet.io import IMAGE_SUFFIXES, list_images, read_image, write_image

    net = DSANet.from_checkpoint(args.dsanet, device=args.device)
    root, out = Path(args.inp), Path(args.out)
    images = list_images(root)
    if not images:   # reported by the dispatcher as one `error:` line, like every bad input
        raise FileNotFoundError(f"--in {root}: no images ({', '.join(IMAGE_SUFFIXES)}) under it")
    done = 0
    for path in tqdm(images, desc="derain", unit="img"):
        dst = (out / path.relative_to(root)).with_suffix(".png")
        if dst.exists():
            continue
        write_image(dst, net.derain(read_image(path)[None])[0])
        done += 1
    print(json.dumps({"derained": done, "skipped": len(images) - done, "out": str(out)}))
    return 0
