"""Sub-command dispatch shared by `python -m training` and `python -m export`.

Each command is a module with `main(argv) -> int`, imported only when it is run, so `--help`
and light commands do not pay for heavy imports.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys


def _available(commands: dict[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
    return {n: c for n, c in commands.items() if importlib.util.find_spec(c[0]) is not None}


def usage(prog: str, commands: dict[str, tuple[str, str]]) -> str:
    available = _available(commands)
    width = max(map(len, available), default=0)
    lines = [f"usage: {prog} <command> [args]   ({prog} <command> --help for one command)",
             "", "commands:"]
    lines += [f"  {name:<{width}}  {summary}" for name, (_, summary) in available.items()]
    return "\n".join(lines)


def dispatch(prog: str, commands: dict[str, tuple[str, str]], argv: list[str] | None = None) -> int:
    """Run `commands[argv[0]]`'s main with the rest of argv; print usage on -h or no command."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(usage(prog, commands))
        return 0
    name, rest = args[0], args[1:]
    if name not in _available(commands):
        print(f"unknown command {name!r}\n\n{usage(prog, commands)}", file=sys.stderr)
        return 2
    return int(importlib.import_module(commands[name][0]).main(rest) or 0)
