"""The parser the config-driven `python -m training` entry points share."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from training.engine.command import config_parser, parse_config


@dataclass
class _Schema:
    steps: int = 10
    lr: float = 0.5
    out_dir: str = "runs/x"


def test_config_then_overrides_in_any_order() -> None:
    parser = config_parser("prog", "doc", overrides_help="key=value")
    args = parser.parse_intermixed_args(["steps=3", "--config", "a.yaml", "lr=0.1"])
    assert args.config == "a.yaml" and args.overrides == ["steps=3", "lr=0.1"]
    assert parser.parse_args([]).config is None and parser.parse_args([]).overrides == []


def test_help_keeps_the_docstring_as_written() -> None:
    doc = "Train it.\n\nExample:\n    python -m training x \\\n        a=1\n"
    text = config_parser("python -m training x", doc, overrides_help="key=value overrides").format_help()
    assert "    python -m training x \\\n        a=1" in text
    assert "--config CONFIG  YAML overrides under config/training/ (optional)" in text


def test_parse_config_applies_the_yaml_then_the_overrides(tmp_path: Path) -> None:
    yaml_file = tmp_path / "x.yaml"
    yaml_file.write_text("steps: 20\nlr: 0.25\n")
    cfg = parse_config(["--config", str(yaml_file), "steps=3"], _Schema, "prog", None, overrides_help="kv")
    assert cfg == _Schema(steps=3, lr=0.25, out_dir="runs/x")
    assert parse_config([], _Schema, "prog", None, overrides_help="kv") == _Schema()
