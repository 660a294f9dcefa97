"""What the `python -m training` entry points that parse a config and call a trainer share:
the parser (`--config` YAML, then `key=value` overrides) and the log format.

Example:
    parser = config_parser("python -m training train-spade", __doc__, overrides_help="... e.g. steps=100")
    args = parser.parse_args(argv)
    cfg = resolve_config(SpadeTrainConfig, args.config, args.overrides)
    # or, for a command with no options of its own, the three lines in one:
    cfg = parse_config(argv, SpadeTrainConfig, "python -m training train-spade", __doc__,
                       overrides_help="... e.g. steps=100", log=True)
"""

from __future__ import annotations

import argparse
import logging
from typing import TypeVar

from training.engine.config import resolve_config

T = TypeVar("T")

CONFIG_HELP = "YAML overrides under config/training/ (optional)"


def config_parser(prog: str, doc: str | None, *, overrides_help: str,
                  config_help: str = CONFIG_HELP) -> argparse.ArgumentParser:
    """A parser with the command's docstring (examples kept as written), `--config` and the
    positional `overrides`; a command adds its own options to it."""
    parser = argparse.ArgumentParser(prog=prog, description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help=config_help)
    parser.add_argument("overrides", nargs="*", help=overrides_help)
    return parser


def parse_config(argv: list[str] | None, schema: type[T], prog: str, doc: str | None, *,
                 overrides_help: str, log: bool = False) -> T:
    """The resolved config of a command whose only arguments are `--config` and the overrides;
    with log, INFO records are shown from then on."""
    args = config_parser(prog, doc, overrides_help=overrides_help).parse_args(argv)
    if log:
        log_info()
    return resolve_config(schema, args.config, args.overrides)


def log_info() -> None:
    """INFO records of the training modules on stderr, one line each."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
