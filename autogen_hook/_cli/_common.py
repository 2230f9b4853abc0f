"""What every command shares: its options, the project and settings, module names, output,
confirmations, and the error that ends a command with a status.

Imports only the standard library and the package's warm modules: ``--help`` stays quick.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from .._names import module_problem, names_problem
from .._settings import Settings, project_root_of, resolve

if TYPE_CHECKING:
    from .._inventory import StoredModule
    from .._store import Store

T = TypeVar("T")
Run = Callable[[argparse.Namespace], int]


class CommandFailed(Exception):
    """Ends a command: the message goes to stderr, ``status`` is the exit status."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def command(
    commands: argparse._SubParsersAction,  # type: ignore[type-arg]
    name: str,
    run: Run,
    summary: str,
    description: str,
    *,
    json_output: bool = True,
) -> argparse.ArgumentParser:
    """Add subcommand ``name``, which calls ``run``, with ``--project`` (and ``--json``)."""
    parser: argparse.ArgumentParser = commands.add_parser(name, help=summary, description=description)
    parser.add_argument(
        "--project", metavar="DIR",
        help="the project to work on: DIR or the project it is in (default: the current directory's)",
    )
    if json_output:
        parser.add_argument("--json", action="store_true", help="print the result as JSON, for scripts")
    parser.set_defaults(run=run, command_parser=parser)
    return parser


def usage_error(args: argparse.Namespace, message: str) -> NoReturn:
    """A bad argument: the command's usage and the message, exit status 2 (argparse's way)."""
    parser: argparse.ArgumentParser = args.command_parser
    parser.error(message)


def project_root(args: argparse.Namespace) -> str:
    """The project root of ``--project`` or of the current directory (see "The store")."""
    directory = os.path.abspath(args.project or os.getcwd())
    if not os.path.isdir(directory):
        usage_error(args, f"--project: {args.project} is not a directory")
    return project_root_of(directory)


def settings_of(args: argparse.Namespace) -> Settings:
    """The project's settings (pyproject, then the environment); a bad one fails the command."""
    return resolve(project_root(args), {})


def module_name(args: argparse.Namespace, settings: Settings, given: str | None = None) -> str:
    """``MODULE`` (or ``given``), checked: a full name such as ``autogen.pricing``."""
    name = given if given is not None else args.module
    problem = module_problem(name, settings.namespace)
    if problem is not None:
        usage_error(args, f"module: {problem}")
    return name  # type: ignore[no-any-return]


def names_of(args: argparse.Namespace, module: str, option: str = "--names") -> tuple[str, ...]:
    """A comma-separated list of names to generate; () if the option was not given."""
    raw = getattr(args, option.lstrip("-").replace("-", "_"))
    if raw is None:
        return ()
    names = tuple(dict.fromkeys(n.strip() for n in raw.split(",") if n.strip()))
    if not names:
        usage_error(args, f"{option}: expected public Python names separated by commas, got {raw!r}")
    problem = names_problem(module, names)
    if problem is not None:
        usage_error(args, f"{option}: {problem}")
    return names


def stored(settings: Settings, module: str) -> StoredModule:
    """The module as stored, or the command fails saying it is not."""
    from .._inventory import loaded
    from .._store import Store

    found = loaded(Store(settings.store_dir), module)
    if found is None:
        raise CommandFailed(f"{module} is not stored in {settings.store_dir}")
    return found


def under_lock(store: Store, module: str, action: Callable[[], T]) -> T:
    """Run ``action`` holding the module's lock, as a generation would."""
    import asyncio

    async def locked() -> T:
        async with store.lock(module):
            return action()

    return asyncio.run(locked())


def confirm(args: argparse.Namespace, question: str) -> None:
    """Ask on a terminal, unless ``--yes``; elsewhere refuse without ``--yes``."""
    if args.yes:
        return
    if not sys.stdin.isatty():
        raise CommandFailed(f"{question.rstrip('?')}: refused, since there is no terminal to confirm on; "
                            "pass --yes to do it anyway")
    print(f"{question} [y/N] ", end="", file=sys.stderr, flush=True)
    try:
        answer = input()
    except EOFError:
        answer = ""
    if answer.strip().lower() not in ("y", "yes"):
        raise CommandFailed("nothing was done")


def print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False))


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], widest: int = 48) -> str:
    """Rows in aligned columns, cells cut at ``widest`` characters."""
    cells = [[_cell(v, widest) for v in row] for row in [headers, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells)


def _cell(value: object, widest: int) -> str:
    text = "" if value is None else " ".join(str(value).split())
    return text if len(text) <= widest else text[: widest - 1] + "…"


def size(count: int) -> str:
    """Bytes as people read them."""
    if count < 1024:
        return f"{count} B"
    return f"{count / 1024:.1f} KB" if count < 1 << 20 else f"{count / (1 << 20):.1f} MB"
