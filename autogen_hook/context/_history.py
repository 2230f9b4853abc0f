"""The caller's source when there is no file: the interactive session's input so far.

A plain ``python`` REPL runs input as ``<stdin>`` (``<python-input-N>`` in the
3.13 REPL); its lines are in readline's history, which also holds the entries
``site`` read from the history file at the first prompt: earlier sessions, which
may belong to other projects. Only this session's lines are taken.

Which entries came from the file is decided by content, not by counting the
file's lines now: another session that exits meanwhile rewrites the file, so
its length now says nothing about what was read. The entries read are the
first ones in memory, and they are the file's entries as they were then: its
first ones, if the file has only grown since (another session appended its
input), or its last ones, if readline keeps fewer entries than the file holds
(``history-size`` in ``~/.inputrc``). IPython and Jupyter keep this session's
cells in ``In``.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Sequence
from types import ModuleType

MAX_LINES = 400
_EDITLINE_HEADER = b"_HiStOrY_V2_"  # libedit's history file (macOS)
_VIS_ESCAPE = re.compile(rb"\\([0-7]{3}|\\)")  # how libedit writes a space (\040) or a backslash


def session_source(filename: str) -> str | None:
    """This session's input, oldest first, if ``filename`` is an interactive one; else None."""
    cells = _ipython_cells()
    if cells is not None and _is_notebook_or_ipython(filename):
        return "\n".join(cells) or None
    if filename == "<stdin>" or filename.startswith("<python-input-"):
        lines = _readline_lines()
        return "\n".join(lines[-MAX_LINES:]) or None
    return None


def _is_notebook_or_ipython(filename: str) -> bool:
    return filename.startswith("<ipython-input-") or "ipykernel_" in filename


def _ipython_cells() -> list[str] | None:
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    cells = getattr(shell, "user_ns", {}).get("In") if shell is not None else None
    return [c for c in cells if c] if isinstance(cells, list) else None


def _readline_lines() -> list[str]:
    """The entries of readline's history that this session added."""
    module = _readline()
    if module is None:
        return []
    length = module.get_current_history_length()
    items = [module.get_history_item(i) or "" for i in range(1, length + 1)]  # 1-based
    path = _history_file()
    read = _read_from_file(items, _file_entries(path)) if path is not None else 0
    return [item for item in items[read:] if item]


def _readline() -> ModuleType | None:
    """The readline the REPL uses: the 3.13 REPL's own, else GNU readline / libedit."""
    return sys.modules.get("_pyrepl.readline") or sys.modules.get("readline")


def _history_file() -> str | None:
    """The file ``site`` loads the history from, as this Python's ``site`` chooses it
    (``PYTHON_HISTORY`` counts from 3.13 on); None where ``site`` loads none."""
    site = sys.modules.get("site")
    if site is None or sys.flags.isolated:  # -S or -I: site set up no readline history
        return None
    choose = getattr(site, "gethistoryfile", None)  # 3.13+
    return choose() if choose is not None else os.path.join(os.path.expanduser("~"), ".python_history")


def _file_entries(path: str) -> list[str]:
    """The entries of a history file as readline holds them in memory."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return []
    editline = data.startswith(_EDITLINE_HEADER)
    lines = data.split(b"\n")[1 if editline else 0 :]
    entries: list[str] = []
    pending: list[str] = []  # the 3.13 REPL writes a multi-line entry's line breaks as \r\n
    for raw in lines:
        if editline:
            raw = _VIS_ESCAPE.sub(lambda m: bytes([int(m[1], 8)]) if m[1] != b"\\" else b"\\", raw)
        line = raw.decode("utf-8", "surrogateescape")  # as the readline module decodes its items
        if line.endswith("\r"):
            pending.append(line[:-1])
            continue
        entry = "\n".join([*pending, line])
        pending = []
        if entry:
            entries.append(entry)
    return entries


def _read_from_file(items: Sequence[str], entries: Sequence[str]) -> int:
    """How many of the first ``items`` in memory were read from the file that now has ``entries``:
    its first entries (the file grew since) or its last ones (readline keeps fewer)."""
    first = _common_prefix(items, entries)
    for start in range(len(entries)):  # the longest tail of the file that memory starts with
        tail = len(entries) - start
        if tail <= first:
            break
        if tail > len(items) or entries[start] != items[0]:
            continue
        if _common_prefix(items, entries[start:]) == tail:
            return tail
    return first


def _common_prefix(a: Sequence[str], b: Sequence[str]) -> int:
    count = 0
    for x, y in zip(a, b):
        if x != y:
            break
        count += 1
    return count
