"""The repo map: the project's definitions ranked for one request, from an index kept up to date.

A corrupt or unreadable index cache is deleted and rebuilt with a warning; a
store that cannot be written to gets an index in memory for this request.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from collections.abc import Callable
from typing import TypeVar

from .._atomic import write_atomic
from .._state import STATE
from ._index import Definition, Index, IndexStats, connect
from ._rank import Focus, rank

log = logging.getLogger("autogen_hook")
T = TypeVar("T")
INDEX_DIRECTORY = ".index"
_DATABASE = "tags.sqlite3"


def ranked_definitions(
    root: str,
    store_dir: str,
    focus: Focus,
    render: Callable[[list[Definition], Index], T],
    asked_at: float | None = None,
) -> tuple[T, IndexStats]:
    """Bring the index of ``root`` up to date (as of ``asked_at``, see Index.refresh), rank its
    definitions for ``focus``, and ``render`` them while the index is open (it caches renderings)."""
    path = os.path.join(store_dir, INDEX_DIRECTORY, _DATABASE)
    for _ in range(2):
        try:
            return _ranked(_opened(path, root), store_dir, focus, render, asked_at)
        except (OSError, sqlite3.Error) as exc:
            log.warning("autogen-hook: the context index %s is unusable (%s); rebuilding it", path, exc)
            _discard(path)
    index = Index(connect(":memory:"), root)  # the store cannot hold an index
    try:
        return _ranked(index, store_dir, focus, render, asked_at)
    finally:
        index.db.close()


def _ranked(
    index: Index,
    store_dir: str,
    focus: Focus,
    render: Callable[[list[Definition], Index], T],
    asked_at: float | None,
) -> tuple[T, IndexStats]:
    with index.lock:
        always = (focus.caller,) if focus.caller else ()
        stats = index.refresh(excluded=(store_dir,), always=always, asked_at=asked_at)
        return render(rank(index, focus), index), stats


def _opened(path: str, root: str) -> Index:
    """The index at ``path``, open for the life of the process (``STATE.indexes``): loading
    it costs more than a request."""
    with STATE.lock:
        index: Index | None = STATE.indexes.get(path)
        if index is None or index.root != root:
            index = STATE.indexes[path] = Index(connect(path), root)
            _ignore_in_git(os.path.dirname(path))
        return index


def _discard(path: str) -> None:
    """Close and delete a broken index, so the next attempt builds a new one."""
    with STATE.lock:
        index: Index | None = STATE.indexes.pop(path, None)
    if index is not None:
        with contextlib.suppress(sqlite3.Error):
            index.close()
    for suffix in ("", "-journal", "-wal", "-shm"):
        with contextlib.suppress(OSError):
            os.unlink(path + suffix)


def _ignore_in_git(directory: str) -> None:
    """The index is local: a ``*`` .gitignore keeps it out of git even before the store has its own."""
    marker = os.path.join(directory, ".gitignore")
    if not os.path.exists(marker):
        write_atomic(marker, "# Written by autogen-hook: the context index is a local cache.\n*\n")
