"""Validation of a model reply, cheapest check first.

extract code -> parse and compile -> requested (and kept) names -> imports ->
safety policy -> black -> import in a fresh interpreter.

Any failure raises :class:`Problem` whose message is exact enough to send back
to the model on the next attempt.
"""

from __future__ import annotations

import asyncio

import black  # here, not in the worker threads: concurrent first imports can half-load it

from ._extract import extract_code
from ._policy import check_policy
from ._smoke import smoke_import
from ._static import Problem, check_imports, check_names, parse, top_level_names

__all__ = ["Problem", "defined_names", "validate"]


def defined_names(source: str | None) -> set[str]:
    """Module-level names of stored source (empty if there is none or it does not parse)."""
    if not source:
        return set()
    try:
        return top_level_names(parse(source, "<stored>"))
    except Problem:
        return set()


async def validate(
    reply: str,
    *,
    module: str,
    names: tuple[str, ...],
    kept: set[str],
    filename: str,
    namespace: str,
    allow: tuple[str, ...],
) -> str:
    """The module's source, black-formatted, or raise Problem."""
    source = await asyncio.to_thread(
        _static_checks, reply, names, kept, filename, namespace, allow
    )
    await smoke_import(source, module, names, filename)
    return source


def _static_checks(
    reply: str,
    names: tuple[str, ...],
    kept: set[str],
    filename: str,
    namespace: str,
    allow: tuple[str, ...],
) -> str:
    code = extract_code(reply, names)
    if not code.strip():
        raise Problem("the reply contained no code; answer with the module in one ```python block")
    tree = parse(code, filename)
    check_names(tree, names, kept)
    check_imports(tree, namespace)
    check_policy(tree, allow)
    return _black(code)


def _black(code: str) -> str:
    try:
        return black.format_str(code, mode=black.Mode())
    except Exception as exc:  # black raises several types for input it cannot handle
        raise Problem(f"black cannot format the module: {exc}") from None
