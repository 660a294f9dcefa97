"""Config resolution: dataclass defaults <- YAML overrides (at most one `_base_`) <- key=value.

Each command owns one dataclass schema holding every default. A YAML file under
config/training/ holds only overrides and may name one base file with `_base_: other.yaml`
(relative to itself). `key=value` arguments go last; nested dataclass fields use dots
(`model.width=32`). Values are parsed as YAML scalars, so `lr=1e-3`, `amp=true`,
`crop=[256,512]` all work. The resolved config is written next to the run's outputs.

Example:
    cfg = resolve_config(DSANetTrainConfig, "config/training/dsanet_synth.yaml", ["steps=100"])
"""

from __future__ import annotations

import dataclasses
import json
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from rain_seg_ros.cli import UserError, one_line

T = TypeVar("T")
MAX_CONFIG_BYTES = 1_000_000   # configs hold overrides: a larger file is not one


class ConfigError(UserError, ValueError):
    """A config file or override does not fit the command's schema."""


def _load_yaml(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    path = path.resolve()
    if path in seen:
        raise ConfigError(f"config base cycle: {' -> '.join(map(str, seen + (path,)))}")
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    if path.stat().st_size > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: {path.stat().st_size} bytes is too large for a config file")
    try:
        # safe_load: tags such as !!python/object/apply are refused, nothing is executed.
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not a plain YAML config ({one_line(exc)})") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping, got {type(data).__name__}")
    base = data.pop("_base_", None)
    if base is None:
        return data
    if not isinstance(base, str):
        raise ConfigError(f"{path}: _base_ must be one file name (at most one base)")
    merged = _load_yaml(path.parent / base, seen + (path,))
    return _deep_merge(merged, data)


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """Turn ["a.b=1", "c=x"] into {"a": {"b": 1}, "c": "x"}."""
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"override {item!r} is not key=value")
        key, raw = item.split("=", 1)
        node = out
        parts = key.strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        try:
            node[parts[-1]] = yaml.safe_load(raw) if raw != "" else ""
        except yaml.YAMLError as exc:
            raise ConfigError(f"override {item!r} is not a plain YAML value ({one_line(exc)})") from exc
    return out


def _coerce(value: Any, hint: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping for {hint.__name__}")
        return build_dataclass(hint, value, where)
    if origin is typing.Union or str(origin) == "<class 'types.UnionType'>":
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, where)
            except ConfigError:
                continue
        raise ConfigError(f"{where}: {value!r} does not fit {hint}")
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{where}: {value!r} is not one of {list(args)}")
        return value
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        inner = args[0] if args else Any
        items = [_coerce(v, inner, where) for v in value] if inner is not Any else list(value)
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return dict(value)
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true/false, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, str):  # YAML 1.1 reads "1e-3" (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if hint is str:
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return str(value)
    return value


def build_dataclass(cls: type[T], values: dict[str, Any], where: str = "config") -> T:
    """Instantiate dataclass `cls` from a (possibly partial) nested mapping, type-checked."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; known: {sorted(fields)}")
    kwargs: dict[str, Any] = {}
    for name, value in values.items():
        hint = hints[name]
        if dataclasses.is_dataclass(hint) and isinstance(value, dict):
            default = fields[name].default_factory  # type: ignore[misc]
            base = dataclasses.asdict(default()) if callable(default) else {}
            value = _deep_merge(base, value)
        kwargs[name] = _coerce(value, hint, f"{where}.{name}")
    return cls(**kwargs)


def resolve_config(cls: type[T], config_path: str | Path | None = None,
                   overrides: list[str] | None = None) -> T:
    """Defaults of `cls`, then the YAML file (with its base), then key=value overrides."""
    values: dict[str, Any] = {}
    if config_path is not None:
        values = _load_yaml(Path(config_path))
    if overrides:
        values = _deep_merge(values, parse_overrides(overrides))
    return build_dataclass(cls, values)


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """Plain nested dict of a config dataclass (JSON/YAML serialisable)."""
    return json.loads(json.dumps(dataclasses.asdict(cfg), default=str))


def save_config(cfg: Any, path: str | Path) -> None:
    """Write the resolved config as YAML (the run's record of what it did)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(yaml.safe_dump(config_to_dict(cfg), sort_keys=False))


def check_crop(crop: list[int], multiple: int, name: str = "data.crop") -> tuple[int, int]:
    """(H, W) of a crop setting whose sides the network halves log2(multiple) times.

    Raises:
        ValueError: not two positive multiples of `multiple` (one line naming the setting).
    """
    if len(crop) != 2 or any(c <= 0 or c % multiple for c in crop):
        raise ValueError(f"{name} must be [H, W], positive multiples of {multiple}; got {crop}")
    return crop[0], crop[1]
