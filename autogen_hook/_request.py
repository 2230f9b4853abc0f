"""What is asked for: a module, the names wanted from it, and where the import happened.

The names come from the importing statement itself, read from the caller's
bytecode, so ``from autogen.x import a, b, C`` asks for all three at once even
though Python looks them up one by one.
"""

from __future__ import annotations

import dis
import linecache
from dataclasses import dataclass, field
from types import FrameType
from typing import Any


@dataclass(frozen=True)
class CallerSite:
    """The code that triggered generation."""

    filename: str  # a path, or "<stdin>" / "<string>" where there is no file
    lineno: int
    statement: str  # the import statement, or the line that used the missing name
    source: str | None = None  # the caller's whole source, when it can be read
    imports: bool = True  # False: ``statement`` uses the name as an attribute of the module


@dataclass(frozen=True)
class Request:
    """One generation request: everything the prompt is built from."""

    module: str
    names: tuple[str, ...]
    description: str | None = None
    caller: CallerSite | None = None
    extra_context: str | None = None  # given by generate(context=...)
    existing_source: str | None = field(default=None, compare=False)
    regenerate: str | None = None  # why the stored module is written again (None: only what is missing)
    repair: str | None = None  # a repair: what failed, in one line (the history's reason)
    # this request's own examples (the asserts of named tests, a repair's failing call), as the
    # metadata records them
    # (Example.as_json: the validation's types would make an import loop here)
    examples: tuple[dict[str, Any], ...] = field(default=(), compare=False)


def names_from_statement(frame: FrameType, module: str) -> tuple[str, ...]:
    """Names of ``from <module> import a, b`` being executed by ``frame``, or ().

    The frame is stopped on its IMPORT_NAME instruction while Python fetches
    the names; the fromlist is the constant loaded just before it.
    """
    instruction, previous = _current(frame)
    if instruction is None or instruction.opname != "IMPORT_NAME" or len(previous) < 2:
        return ()
    level, fromlist = previous[-2].argval, previous[-1].argval
    if _absolute(instruction.argval, level, frame) != module or not isinstance(fromlist, tuple):
        return ()
    return tuple(n for n in fromlist if n != "*")


def _current(frame: FrameType) -> tuple[dis.Instruction | None, list[dis.Instruction]]:
    """The instruction ``frame`` is executing, and the two before it (EXTENDED_ARG aside)."""
    previous: list[dis.Instruction] = []
    for instruction in dis.get_instructions(frame.f_code):
        if instruction.offset == frame.f_lasti:
            return instruction, previous
        if instruction.opname != "EXTENDED_ARG":
            previous = [*previous[-1:], instruction]
    return None, previous


def _absolute(name: str, level: object, frame: FrameType) -> str:
    if not isinstance(level, int) or level == 0:
        return name
    package = frame.f_globals.get("__package__") or ""
    base = package.rsplit(".", level - 1)[0] if level > 1 else package
    return f"{base}.{name}" if name else base


def caller_site(frame: FrameType | None) -> CallerSite | None:
    """Where the import happened: file, line, statement text and the whole source."""
    if frame is None:
        return None
    filename = frame.f_code.co_filename
    lines = linecache.getlines(filename, frame.f_globals)
    first, last = _statement_lines(frame)
    statement = "".join(lines[first - 1 : last]).strip() if lines else ""
    return CallerSite(
        filename=filename,
        lineno=first,
        statement=statement,
        source="".join(lines) or None,
    )


def _statement_lines(frame: FrameType) -> tuple[int, int]:
    """First and last line of the statement being executed (Python 3.11+ knows both)."""
    instruction, _ = _current(frame)
    positions = getattr(instruction, "positions", None)
    if positions is not None and positions.lineno and positions.end_lineno:
        return positions.lineno, positions.end_lineno
    return frame.f_lineno, frame.f_lineno
