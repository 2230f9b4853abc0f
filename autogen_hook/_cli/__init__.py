"""The ``autogen-hook`` command: one argparse parser, the commands in a module per group.

Each group's ``register(commands)`` adds its subcommands; a subcommand's ``run`` takes the
parsed arguments and returns the exit status: 0 ok, 1 failure, 2 usage (argparse's own, and
every bad argument found later). Until a command runs only argparse and the package's warm
modules are imported, so ``--help`` is quick: each command imports what it needs.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from .._version import __version__
from . import _check_commands, _generate_commands, _review_commands, _store_commands
from ._common import CommandFailed

__all__ = ["main", "parser"]

GROUPS = (
    _store_commands.register,
    _generate_commands.register,
    _review_commands.register,
    _check_commands.register,
)


def parser() -> argparse.ArgumentParser:
    """The whole command line."""
    top = argparse.ArgumentParser(
        prog="autogen-hook",
        description=(
            "Generate Python modules on import: `from autogen.x import fn` asks an LLM for "
            "autogen.x, validates it and stores it as reviewable source in .autogen/."
        ),
        epilog="Settings: [tool.autogen-hook] in pyproject.toml, AUTOGEN_HOOK_* variables, "
        "or autogen_hook.install(...). Exit status: 0 ok, 1 failure, 2 usage. See the README.",
    )
    top.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = top.add_subparsers(dest="command", metavar="COMMAND")
    for register in GROUPS:
        register(commands)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    from .._errors import AutogenHookError

    top = parser()
    args = top.parse_args(argv)
    if args.command is None:
        top.print_help()
        return 0
    try:
        status: int = args.run(args)
    except CommandFailed as exc:
        print(f"autogen-hook {args.command}: {exc}", file=sys.stderr)
        return exc.status
    except AutogenHookError as exc:  # a bad setting, an unreadable store, a provider that failed
        print(f"autogen-hook {args.command}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\nautogen-hook {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `autogen-hook diff ... | head`: the reader has gone
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit's flush
        return 1
    return status
