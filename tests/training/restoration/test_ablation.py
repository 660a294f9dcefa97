"""The ablation's bookkeeping: the "none" row sees the restorers' incomplete masks, and the
closed loop trains on the restorer row it names."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from training.engine.config import ConfigError, config_to_dict, resolve_config
from training.restoration import ablation
from training.restoration.ablation_config import MaskRestorationExperimentConfig
from training.restoration.data import find_items


def _known_after_one_px_erosion(fine: np.ndarray) -> np.ndarray:
    """Pixels whose 4 neighbours all hold their class (the image border is no boundary)."""
    padded = np.pad(fine, 1, mode="edge")
    centre = padded[1:-1, 1:-1]
    return ((padded[:-2, 1:-1] == centre) & (padded[2:, 1:-1] == centre)
            & (padded[1:-1, :-2] == centre) & (padded[1:-1, 2:] == centre))


def test_none_row_uses_the_restorer_configs_incomplete_settings(tmp_path, scenes, spade_ckpt):
    # Settings far from IncompleteConfig's defaults (erode 3, min_area 64, drop 0.1): every region
    # kept, 1 px eroded, so the known pixels (all correct) are exactly the 1-px interiors.
    cfg = resolve_config(MaskRestorationExperimentConfig, None, [
        f"scenes.root={scenes}", "eval_split=val", "restorer_overrides=[incomplete.erode_px=1, "
        "incomplete.min_area=0, incomplete.drop_p=0.0]"])
    result = ablation._evaluate(cfg, None, scenes, spade_ckpt, "", "sparse", 0, tmp_path / "ref.json")
    known = [_known_after_one_px_erosion(np.asarray(Image.open(item.label)))
             for item in find_items(scenes, "val")]
    expected = 100.0 * sum(k.sum() for k in known) / sum(k.size for k in known)
    assert result["rows"]["incomplete"]["pixel_acc"] == pytest.approx(expected, abs=1e-6)
    assert json.loads((tmp_path / "ref.json").read_text())["rows"]["incomplete"]["pixel_acc"] \
        == pytest.approx(expected, abs=1e-6)


def _rows(**miou: list[float]) -> dict[str, list[dict[str, float]]]:
    return {row.replace("_", "+"): [{"mIoU": v} for v in values] for row, values in miou.items()}


def test_best_closed_loop_row_is_the_highest_mean_miou_not_a_collapsed_row():
    table = _rows(CE=[11.0, 10.0], CE_VGG_L1=[0.6, 0.7], CE_L1=[12.0, 8.0], CE_VGG=[0.5, 0.9])
    best = resolve_config(MaskRestorationExperimentConfig, None, ["closed_loop_row=best"])
    assert ablation.pick_closed_loop_row(best, {"fine": [], "none": [], **table}) == "CE"   # 10.5 > 10.0
    fixed = resolve_config(MaskRestorationExperimentConfig, None, ["closed_loop_row=CE+L1"])
    assert ablation.pick_closed_loop_row(fixed, table) == "CE+L1"
    bad = resolve_config(MaskRestorationExperimentConfig, None, ["closed_loop_row=CE+VGG+GAN"])
    with pytest.raises(ConfigError, match="closed_loop_row"):
        ablation.run_mask_restoration(bad)


def test_report_names_the_restorer_that_fed_the_closed_loop(tmp_path):
    from training.restoration.ablation_report import write_report

    cfg = resolve_config(MaskRestorationExperimentConfig, None, [])
    summary = {"config": config_to_dict(cfg), "stage_seconds": {"scenes": 1.0}, "tables": {},
               "closed_loop": {"restored_coarse": {"mIoU": 12.0, "aAcc": 60.0}}, "closed_loop_row": "CE+L1"}
    write_report(summary, tmp_path / "results.md")
    assert "restored by the CE+L1 restorer (sparse, seed 0)" in (tmp_path / "results.md").read_text()
