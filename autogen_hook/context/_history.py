"""The caller's source when there is no file: the interactive session's input so far.

A plain ``python`` REPL runs input as ``<stdin>`` (``<python-input-N>`` in the
3.13 REPL); its lines are in readline's history, which at start-up also holds
the lines of earlier sessions read from the history file. Only this session's
lines are taken: earlier sessions may belong to other projects. IPython and
Jupyter keep this session's cells in ``In``.
"""

from __future__ import annotations

import os
import sys
from types import ModuleType

MAX_LINES = 400


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
    module = _readline()
    if module is None:
        return []
    length = module.get_current_history_length()
    first = min(_history_file_lines(), length)
    items = (module.get_history_item(i) for i in range(first + 1, length + 1))  # 1-based
    return [item for item in items if item is not None]


def _readline() -> ModuleType | None:
    """The readline the REPL uses: the 3.13 REPL's own, else GNU readline / libedit."""
    return sys.modules.get("_pyrepl.readline") or sys.modules.get("readline")


def _history_file_lines() -> int:
    """How many entries start-up read from the history file (it is rewritten only at exit)."""
    path = os.environ.get("PYTHON_HISTORY") or os.path.join(os.path.expanduser("~"), ".python_history")
    try:
        with open(path, "rb") as f:
            return sum(1 for _ in f)
    except OSError:
        return 0
