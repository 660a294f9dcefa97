"""Sub-command dispatch shared by `python -m training` and `python -m export`.

Each command is a module with `main(argv) -> int`, imported only when it is run, so `--help`
and light commands do not pay for heavy imports.

Errors a user can fix (a missing or damaged file, a wrong checkpoint, a bad config value)
end the command with one line `error: ...` on stderr and exit status 2, as `export` does;
anything else is reported as `unexpected error: ...` with status 1. `--debug` anywhere on
the command line, or RAIN_SEG_DEBUG=1, adds the traceback.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pickle
import sys
import traceback

DEBUG_FLAG = "--debug"
DEBUG_ENV = "RAIN_SEG_DEBUG"


class UserError(Exception):
    """Base of the project's errors about input a user can fix (files, checkpoints, configs)."""


def one_line(exc: BaseException, limit: int = 300) -> str:
    """The exception's message on one line (whitespace collapsed), at most `limit` characters."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[:limit - 3] + "..."


def user_error_types() -> tuple[type[BaseException], ...]:
    """Exception types that mean bad input, not a bug: file, format and value errors.

    ValueError covers json.JSONDecodeError, UnicodeDecodeError and the config errors;
    OSError covers missing files, permissions and PIL's unidentified images.
    """
    types: list[type[BaseException]] = [UserError, OSError, ValueError, EOFError, pickle.UnpicklingError]
    for module, name in (("safetensors", "SafetensorError"), ("yaml", "YAMLError")):
        if module in sys.modules:   # only if the command imported it: never pay for the import
            types.append(getattr(sys.modules[module], name))
    return tuple(types)


def _available(commands: dict[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
    return {n: c for n, c in commands.items() if importlib.util.find_spec(c[0]) is not None}


def usage(prog: str, commands: dict[str, tuple[str, str]]) -> str:
    available = _available(commands)
    width = max(map(len, available), default=0)
    lines = [f"usage: {prog} <command> [args]   ({prog} <command> --help for one command)",
             "", "commands:"]
    lines += [f"  {name:<{width}}  {summary}" for name, (_, summary) in available.items()]
    lines += ["", f"{DEBUG_FLAG} (anywhere) or {DEBUG_ENV}=1: print tracebacks of errors"]
    return "\n".join(lines)


def dispatch(prog: str, commands: dict[str, tuple[str, str]], argv: list[str] | None = None) -> int:
    """Run `commands[argv[0]]`'s main with the rest of argv; print usage on -h or no command."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = DEBUG_FLAG in args or os.environ.get(DEBUG_ENV, "") not in ("", "0")
    args = [a for a in args if a != DEBUG_FLAG]
    if not args or args[0] in ("-h", "--help"):
        print(usage(prog, commands))
        return 0
    name, rest = args[0], args[1:]
    if name not in _available(commands):
        print(f"unknown command {name!r}\n\n{usage(prog, commands)}", file=sys.stderr)
        return 2
    try:
        return int(importlib.import_module(commands[name][0]).main(rest) or 0)
    except Exception as exc:  # KeyboardInterrupt and SystemExit (argparse) pass through
        if debug:
            traceback.print_exc()
        hint = "" if debug else f" (run with {DEBUG_FLAG} for the traceback)"
        if isinstance(exc, user_error_types()):
            print(f"error: {one_line(exc)}", file=sys.stderr)
            return 2
        print(f"unexpected error: {type(exc).__name__}: {one_line(exc)}{hint}", file=sys.stderr)
        return 1
