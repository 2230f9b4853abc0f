"""The ``autogen-hook`` command."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from . import __version__


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="autogen-hook",
        description=(
            "Generate Python modules on import: `from autogen.x import fn` asks an LLM for "
            "autogen.x, validates it and stores it as reviewable source in .autogen/."
        ),
        epilog="Settings: [tool.autogen-hook] in pyproject.toml, AUTOGEN_HOOK_* variables, "
        "or autogen_hook.install(...). See the README.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    parser.parse_args(argv)
    parser.print_help()
    return 0
