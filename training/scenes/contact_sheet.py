"""Contact sheet of generated samples: clean | rain | night | labels | depth, one row per sample.

Example:
    python -m training.scenes.contact_sheet --out docs/scenes_contact_sheet.png
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from rain_seg_ros.labels import colorize
from training.scenes.sample import SceneSpec, generate_sample

COLUMNS = ("clean day", "rain", "night", "labels (trainIds)", "depth (log, sky black)")


def colour_depth(depth_m: np.ndarray) -> np.ndarray:
    """(H, W) metres -> (H, W, 3) uint8 RGB, log scale 1..200 m; sky and beyond range black."""
    x = np.clip(np.log(np.maximum(depth_m, 1.0)) / np.log(200.0), 0, 1)
    rgb = cv2.applyColorMap((255 * (1 - x)).astype(np.uint8), cv2.COLORMAP_TURBO)[..., ::-1]
    return np.where((depth_m >= 600)[..., None], 0, rgb).astype(np.uint8)


def make_sheet(
    seed: int, indices: list[int], size: tuple[int, int], tile: tuple[int, int], lens_drops: bool
) -> np.ndarray:
    spec = SceneSpec(size[0], size[1], rain_range=(0.5, 1.0), night=True, lens_drops=lens_drops)
    rows = []
    for i in indices:
        s = generate_sample(seed, i, spec)
        assert s.night is not None
        tiles = [s.clean, s.rain, s.night, colorize(s.label), colour_depth(s.depth)]
        rows.append(
            np.concatenate(
                [cv2.resize(t, (tile[1], tile[0]), interpolation=cv2.INTER_AREA) for t in tiles], axis=1
            )
        )
    header = np.full((22, tile[1] * len(COLUMNS), 3), 255, np.uint8)
    for c, name in enumerate(COLUMNS):
        cv2.putText(
            header, name, (c * tile[1] + 6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA
        )
    return np.concatenate([header, *rows], axis=0)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=Path("docs/scenes_contact_sheet.png"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--indices", default="0,1,2,3", help="sample indices, comma-separated")
    p.add_argument("--lens-drops", action="store_true")
    args = p.parse_args(argv)
    sheet = make_sheet(
        args.seed, [int(i) for i in args.indices.split(",")], (256, 512), (160, 320), args.lens_drops
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.out), sheet[..., ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 9])
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
