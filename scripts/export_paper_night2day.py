"""Export a paper-sized CycleGAN F (9 residual blocks, width 64) with random seeded weights at
272x480, to time weather_node(night2day) at the paper's 480x270 (cost does not depend on weights).

    PYTHONPATH=. .venv/bin/python scripts/export_paper_night2day.py runs/nd/paper_f.onnx
"""

from __future__ import annotations

import sys

import torch

from export.to_onnx import export_onnx
from rain_seg_ros.artifact import Artifact, TensorSpec
from training.models.resnet_generator import ResnetGenerator

H, W = 272, 480  # 270 rounded up to the generator's multiple of 4; the Translator resizes there and back


def main(out: str) -> None:
    torch.manual_seed(0)
    generator = ResnetGenerator(base_channels=64, num_blocks=9).eval()
    art = Artifact(task="cyclegan_generator", inputs=[TensorSpec("image", [1, 3, H, W])],
                   outputs=[TensorSpec("translated", [1, 3, H, W])], input_size=(H, W), resize="stretch",
                   extra={"direction": "night2day", "module": "gen_f"})
    print(export_onnx(generator, art, out))


if __name__ == "__main__":
    main(sys.argv[1])
