"""The mask-restoration ablation, end to end on procedural scenes: the paper's two tables
(sparse -> fine and x8 super-resolution; rows none, CE, CE+VGG, CE+L1, CE+VGG+L1; columns
FID, pixel accuracy, mIoU; mean ± std over seeds) and the closed loop (a segmenter trained on
restored coarse vs raw coarse vs fine labels, scored on held-out fine labels).

Example:
    python -m training experiment-mask-restoration \
        --config config/training/experiment-mask-restoration_synth-32x64.yaml
    # smaller: one seed, the sr8 table only
    python -m training experiment-mask-restoration --config ... "seeds=[0]" "tasks=[sr8]"

Writes OUT/results.json, OUT/results.md (tables, wall time per stage) and OUT/grid_<task>.png.
A separate command rather than `experiment mask-restoration`: `experiment` belongs to the
rain comparison's schema. Interrupted runs continue where they stopped with the same OUT.
"""

from __future__ import annotations

from training.engine.command import config_parser, log_info


def main(argv: list[str] | None = None) -> int:
    parser = config_parser("python -m training experiment-mask-restoration", __doc__,
                           config_help="YAML of overrides (config/training/experiment-mask-*.yaml)",
                           overrides_help="key=value overrides")
    args = parser.parse_args(argv)
    log_info()

    from training.engine.config import resolve_config
    from training.restoration.ablation import run_mask_restoration
    from training.restoration.ablation_config import MaskRestorationExperimentConfig

    cfg = resolve_config(MaskRestorationExperimentConfig, args.config, args.overrides)
    run_mask_restoration(cfg)
    print(f"results: {cfg.out}/results.md")
    return 0
