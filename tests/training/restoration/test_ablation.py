"""The ablation's bookkeeping: the "none" row sees the restorers' incomplete masks, and the
closed loop trains on the restorer row it names."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from training.engine.config import resolve_config
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
