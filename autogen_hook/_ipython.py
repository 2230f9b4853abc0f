"""The ``%autogen`` IPython magics, after ``%load_ext autogen_hook`` (IPython and Jupyter)::

    %autogen show autogen.x                                  the stored source and who wrote it
    %autogen regenerate autogen.x [--names a,b] [--hint "..."]
                                                             regenerate it and reload it in place

After a regeneration, the session's names bound to the old module's objects (``from autogen.x
import f`` in an earlier cell) are bound to the new ones. Output goes to the cell, as a
command's does.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from typing import Any

from ._errors import AutogenHookError

_USAGE = '%autogen show MODULE | %autogen regenerate MODULE [--names a,b] [--hint "..."]'


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext autogen_hook`` registers the ``%autogen`` line magic."""
    ipython.register_magic_function(lambda line: _autogen(ipython, line), magic_kind="line", magic_name="autogen")


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # a magic must not exit the kernel
        raise _UsageError(f"{message}\nusage: {_USAGE}")


def _parser() -> _Parser:
    parser = _Parser(prog="%autogen", add_help=False)
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)
    show = commands.add_parser("show")
    show.add_argument("module")
    again = commands.add_parser("regenerate")
    again.add_argument("module")
    again.add_argument("--names", default="")
    again.add_argument("--hint")
    return parser


def _autogen(ipython: Any, line: str) -> None:
    try:
        args = _parser().parse_args(shlex.split(line))
        if args.command == "show":
            _show(args.module)
        elif args.command == "regenerate":
            _regenerate(ipython, args.module, args.names, args.hint)
        else:
            raise _UsageError(f"usage: {_USAGE}")
    except (_UsageError, AutogenHookError) as exc:  # said in the cell, without a traceback
        print(f"%autogen: {exc}", file=sys.stderr)


def _show(module: str) -> None:
    from ._reload import settings_for
    from ._store import Store

    settings = settings_for(module)
    store = Store(settings.store_dir)
    source = store.read(module)
    if source is None:
        raise _UsageError(f"{module} is not stored in {settings.store_dir}: import it to generate it")
    record = store.metadata(module) or {}
    print(f"# {store.path(module)}")
    if record:
        print(f"# written by {record.get('provider')} ({record.get('model')}) at {record.get('written_at')}, "
              f"{record.get('attempts')} attempt(s)")
    print(source, end="")


def _regenerate(ipython: Any, module: str, names: str, hint: str | None) -> None:
    from ._reload import reload

    old = sys.modules.get(module)
    defined = {n: v for n, v in vars(old).items() if getattr(v, "__module__", None) == module} if old else {}
    chosen = tuple(n.strip() for n in names.split(",") if n.strip()) or None
    new = vars(reload(module, names=chosen, hint=hint))
    rebound = []
    for bound, value in list(ipython.user_ns.items()):
        attribute = next((n for n, v in defined.items() if v is value), None)
        if attribute is not None and attribute in new and not bound.startswith("_"):
            ipython.user_ns[bound] = new[attribute]
            rebound.append(bound)
    print(f"regenerated {module}: {new['__file__']}" + (f" (rebound {', '.join(rebound)})" if rebound else ""))
