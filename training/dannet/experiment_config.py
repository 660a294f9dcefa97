"""Schema of `python -m training experiment dannet`: the spec's ablation on procedural twins.

Rows (each trained for every seed, evaluated on held-out night and day frames):
    source_only   segmenter alone on labelled day (no relighting, no target loss)
    light         + relighting network and light loss
    light_static  + static loss (misaligned day/night twins, 3x3 tolerance)
    full          + adversarial loss on D_d, D_n (DANNet)
    oracle        segmenter trained on the labelled night frames (the ceiling)

Example (config/training/experiment-dannet_synth-64x128.yaml):
    out: runs/experiment-dannet_synth-64x128
    scenes: {count: 300, size: [64, 128]}
    steps: 300
    seeds: [0, 1, 2]
"""

from __future__ import annotations

from dataclasses import dataclass, field

from training.segmenter.experiment_config import ScenesConfig

ROWS = ("source_only", "light", "light_static", "full", "oracle")

# train-dannet overrides of each row, on top of `train_config`.
ROW_OVERRIDES: dict[str, list[str]] = {
    "source_only": ["relight.enabled=false", "loss.light=0", "loss.static=0", "loss.adv=0"],
    "light": ["loss.static=0", "loss.adv=0"],
    "light_static": ["loss.adv=0"],
    "full": [],
    "oracle": ["relight.enabled=false", "loss.light=0", "loss.static=0", "loss.adv=0",
               "source.kwargs={variant: night}"],
}


@dataclass
class DANNetExperimentConfig:
    """Args:
        scenes: generate-scenes options (night twins are always generated); scenes.root reuses
            an existing `generate-scenes --night` output.
        train_config: the train-dannet YAML every row starts from.
        steps, seeds: training steps of every run; one run per row and seed.
        misalign_px, misalign_scale: day/night misalignment of the target twins (on by default).
        train_overrides: key=value applied to every run (after the row's own).
        eval_split: held-out split scored at night and by day.
        publish: also copy the Markdown table here (e.g. docs/dannet_results.md); empty: only OUT.
        night_drive_frames: frames of the night drive replayed through segmentation_node with
            the source-only and full exports of the first seed (0: no replay stage).
    """

    out: str = "runs/experiment-dannet"
    scenes: ScenesConfig = field(default_factory=lambda: ScenesConfig(count=300, size=[64, 128]))
    train_config: str = "config/training/dannet_erf-pspnet_synth-64x128.yaml"
    rows: list[str] = field(default_factory=lambda: list(ROWS))
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    steps: int = 300
    misalign_px: int = 4
    misalign_scale: float = 0.05
    train_overrides: list[str] = field(default_factory=list)
    eval_split: str = "test"
    device: str = "auto"
    publish: str = ""
    night_drive_frames: int = 50
