"""The repo map: the project's definitions ranked for one request, from an index kept up to date.

A corrupt or unreadable index cache is deleted and rebuilt with a warning; a
store that cannot be written to gets an index in memory for this request.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3

from ._index import Definition, Index, IndexStats, connect
from ._rank import Focus, rank

log = logging.getLogger("autogen_hook")
INDEX_DIRECTORY = ".index"
_DATABASE = "tags.sqlite3"


def ranked_definitions(
    root: str, store_dir: str, focus: Focus
) -> tuple[list[Definition], IndexStats]:
    """Bring the index of ``root`` up to date and rank its definitions for ``focus``."""
    path = os.path.join(store_dir, INDEX_DIRECTORY, _DATABASE)
    for target in (path, path):
        try:
            return _ranked(target, root, store_dir, focus)
        except (OSError, sqlite3.Error) as exc:
            log.warning("autogen-hook: the context index %s is unusable (%s); rebuilding it", path, exc)
            for suffix in ("", "-journal", "-wal", "-shm"):
                with contextlib.suppress(OSError):
                    os.unlink(path + suffix)
    return _ranked(":memory:", root, store_dir, focus)  # the store cannot hold an index


def _ranked(
    target: str, root: str, store_dir: str, focus: Focus
) -> tuple[list[Definition], IndexStats]:
    db = connect(target)
    try:
        if target != ":memory:":
            _ignore_in_git(os.path.dirname(target))
        index = Index(db, root)
        stats = index.update(excluded=(store_dir,))
        index.load()
        return rank(index, focus), stats
    finally:
        db.close()


def _ignore_in_git(directory: str) -> None:
    """The index is local: a ``*`` .gitignore keeps it out of git even before the store has its own."""
    marker = os.path.join(directory, ".gitignore")
    if not os.path.exists(marker):
        with open(marker, "w", encoding="utf-8") as f:
            f.write("# Written by autogen-hook: the context index is a local cache.\n*\n")
