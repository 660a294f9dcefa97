"""Config resolution: defaults <- YAML (one base) <- key=value, type-checked."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest
import yaml

from training.engine.config import ConfigError, check_crop, parse_overrides, resolve_config, save_config


@dataclass
class Model:
    width: int = 16
    norm: Literal["batch", "instance"] = "batch"


@dataclass
class Train:
    lr: float = 1e-3
    steps: int = 10
    amp: bool = False
    crop: tuple[int, int] = (64, 64)
    name: str | None = None
    model: Model = field(default_factory=Model)


def test_defaults_without_file() -> None:
    cfg = resolve_config(Train)
    assert cfg == Train()


def test_yaml_base_then_overrides(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text("lr: 0.5\nmodel:\n  width: 32\n")
    (tmp_path / "child.yaml").write_text("_base_: base.yaml\nsteps: 7\nmodel:\n  norm: instance\n")
    cfg = resolve_config(Train, tmp_path / "child.yaml", ["lr=2e-4", "crop=[8,16]", "model.width=4"])
    assert cfg.lr == pytest.approx(2e-4)
    assert cfg.steps == 7
    assert cfg.crop == (8, 16)
    assert cfg.model == Model(width=4, norm="instance")


def test_partial_nested_override_keeps_other_defaults() -> None:
    cfg = resolve_config(Train, None, ["model.norm=instance"])
    assert cfg.model.width == 16


@pytest.mark.parametrize("override, message", [
    ("nope=1", "unknown key"),
    ("steps=1.5", "integer"),
    ("amp=maybe", "true/false"),
    ("model.norm=group", "not one of"),
    ("lr", "key=value"),
])
def test_bad_overrides_fail_clearly(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve_config(Train, None, [override])


def test_base_cycle_is_reported(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("_base_: b.yaml\n")
    (tmp_path / "b.yaml").write_text("_base_: a.yaml\n")
    with pytest.raises(ConfigError, match="cycle"):
        resolve_config(Train, tmp_path / "a.yaml")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        resolve_config(Train, tmp_path / "none.yaml")


def test_saved_config_reloads_to_the_same(tmp_path: Path) -> None:
    cfg = resolve_config(Train, None, ["steps=3", "model.width=8"])
    save_config(cfg, tmp_path / "run" / "config.yaml")
    raw = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert raw["steps"] == 3 and raw["model"]["width"] == 8
    assert resolve_config(Train, tmp_path / "run" / "config.yaml") == cfg


def test_parse_overrides_nesting() -> None:
    assert parse_overrides(["a.b.c=1", "a.d=x", "e="]) == {"a": {"b": {"c": 1}, "d": "x"}, "e": ""}


@pytest.mark.parametrize("crop", [[64], [64, 96, 32], [0, 64], [-8, 64], [64, 100]])
def test_check_crop_refuses_what_the_network_cannot_halve(crop: list[int]) -> None:
    with pytest.raises(ValueError, match=r"^data\.crop must be \[H, W\], positive multiples of 8; got "):
        check_crop(crop, 8)


def test_check_crop_gives_height_and_width() -> None:
    assert check_crop([64, 128], 8) == (64, 128)
