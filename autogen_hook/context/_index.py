"""The tags of every project file, cached on disk so only changed files are parsed again.

Definitions come from each language's tag query (``queries/<language>.scm``),
run on top-level nodes only. References are every identifier token of the
file, counted: a lexical scan that costs a fraction of a query pass over the
whole tree (measured on Django: 0.25 s against 0.6 s for 2,800 files) and that
also sees the uses a query pattern would miss (``Order.objects``, a name in a
docstring). Only tokens that name a top-level definition somewhere in the
project ever matter, so words in strings and comments add little noise. Tokens
of a key format (an AWS key id, the pieces of ``sk-proj-...``) are dropped
before they are stored: they are no reference, and no key is stored.

The cache is one SQLite file (``<store>/.index/tags.sqlite3``): a row per file
keyed by its relative path and checked against its size and mtime, a row per
top-level definition, and the rendered summary of each definition a prompt has
used (already redacted). A literal given to a secret-looking name that is no key
format (a password) may still be among a file's tokens: the file itself holds
it, and the index is a local cache that git ignores. SQLite lets a request read
just what it needs (every definition's name and place, the references of the few
files the ranking visits) instead of loading the whole index. A file's rows go
when it changes; everything goes when the queries, the renderer or the redaction
rules change (``version``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import marshal
import os
import re
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from tree_sitter import Node, QueryCursor

from .._atomic import make_dirs
from .._state import cached

from ._files import Listing, SourceFile, read_regular, source_files
from ._grammars import Grammar, extensions, fingerprint, grammar_for
from ._redact import may_hold_keys, without_keys

SCHEMA = 3
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TABLES = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, refs TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS defs (
    path TEXT NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL, line INTEGER NOT NULL,
    end_line INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS defs_path ON defs (path);
CREATE TABLE IF NOT EXISTS summaries (
    path TEXT NOT NULL, name TEXT NOT NULL, line INTEGER NOT NULL, text TEXT
);
CREATE INDEX IF NOT EXISTS summaries_path ON summaries (path);
"""
_RENDERING = ("_summary.py", "_redact.py")  # their code shapes the cached summaries


class Definition(NamedTuple):
    """A top-level definition: a class, function, constant, type, ... (a tuple: loaded by thousands)."""

    path: str  # relative to the project root
    name: str
    kind: str  # "class", "function", "constant", ... (from the tag query's capture name)
    line: int  # 1-based, the first line (a decorator's, if decorated)
    end_line: int


@dataclass(frozen=True)
class Tags:
    """What one file defines at top level and which names it refers to."""

    definitions: tuple[tuple[str, str, int, int], ...]  # (name, kind, line, end line)
    references: dict[str, int]  # name -> how often


@dataclass(frozen=True)
class IndexStats:
    files: int
    parsed: int
    removed: int


def tags(grammar: Grammar, source: bytes) -> Tags:
    """Top-level definitions from the grammar's tag query, and every identifier token counted
    but those of a key format (``AKIA...``, the pieces of ``sk-proj-...``): they are no
    reference, and the index stores no key."""
    root = grammar.parser().parse(source).root_node
    found = tuple(
        (name, kind, node.start_point[0] + 1, node.end_point[0] + 1)
        for name, kind, node in definition_nodes(grammar, root)
    )
    text = source.decode("utf-8", "replace")  # once: decoding each token costs a third of a parse
    tokens = Counter(_IDENTIFIER.findall(text))
    if may_hold_keys(tokens, text):
        tokens = Counter(_IDENTIFIER.findall(without_keys(text)))
    tokens.subtract(name for name, _, _, _ in found)  # a definition's own name is no reference
    return Tags(found, {name: count for name, count in tokens.items() if count > 0})


def definition_nodes(grammar: Grammar, root: Node) -> Iterator[tuple[str, str, Node]]:
    """(name, kind, node) of each top-level definition under ``root``."""
    cursor = QueryCursor(grammar.tags)
    cursor.set_max_start_depth(0)  # patterns are anchored at the root: no walk of the whole tree
    for _, captures in cursor.matches(root):
        kind = next((k for k in captures if k.startswith("definition.")), None)
        if kind is not None and "name" in captures:
            yield _text(captures["name"][0]), kind[11:], captures[kind][0]


def _text(node: Node) -> str:
    return node.text.decode("utf-8", "replace") if node.text is not None else ""


class Database:
    """The index's SQLite connection, every failure reported as sqlite3.DatabaseError.

    A damaged file can make the driver fail in other ways (a garbled schema makes
    it raise UnicodeDecodeError); reported as sqlite3.Error, any of them leads to
    the index being deleted and rebuilt. Queries return their rows at once, so
    that reading them is covered too.
    """

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
        with _damage_is_database_error():
            return self._connection.execute(sql, parameters).fetchall()

    def first(self, sql: str, parameters: Sequence[Any] = ()) -> Any:
        """The first row of a query, or None."""
        rows = self.execute(sql, parameters)
        return rows[0] if rows else None

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with _damage_is_database_error():
            self._connection.executemany(sql, rows)

    def executescript(self, script: str) -> None:
        with _damage_is_database_error():
            self._connection.executescript(script)

    def __enter__(self) -> Database:
        self._connection.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        with _damage_is_database_error():
            self._connection.__exit__(*exc_info)

    def close(self) -> None:
        self._connection.close()


@contextlib.contextmanager
def _damage_is_database_error() -> Iterator[None]:
    try:
        yield
    except sqlite3.Error:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever a damaged file makes the driver raise
        raise sqlite3.DatabaseError(f"damaged index ({type(exc).__name__}: {exc})") from exc


class Index:
    """An open index of one project. Kept open for the life of the process (see _repomap):
    ``lock`` serialises the threads that use it."""

    def __init__(self, db: Database, root: str) -> None:
        self.db = db
        self.root = root
        self.definers: dict[str, list[Definition]] = {}
        self.paths: tuple[str, ...] = ()
        self.lock = threading.Lock()
        self._loaded = False
        self._last_refresh: tuple[float, tuple[tuple[str, ...], tuple[str, ...]], IndexStats] | None = None
        self._listing = self._saved_listing()

    def close(self) -> None:
        """Close the database (``STATE.close``; a broken index before it is deleted)."""
        self.db.close()

    def refresh(
        self, excluded: Sequence[str], always: Sequence[str] = (), asked_at: float | None = None
    ) -> IndexStats:
        """:meth:`update`, then :meth:`load` if anything changed since the last load.

        A request asked at ``asked_at`` (``time.monotonic()``) is served by the last
        refresh if that one started later: it saw every edit made before the request.
        A burst of generations then refreshes once rather than once each.
        """
        key = (tuple(excluded), tuple(always))
        last = self._last_refresh
        if asked_at is not None and last is not None and last[0] >= asked_at and last[1] == key:
            return last[2]
        started = time.monotonic()
        stats = self.update(excluded, always)
        if stats.parsed or stats.removed or not self._loaded:
            self.load()
        self._last_refresh = (started, key, stats)
        return stats

    def update(self, excluded: Sequence[str], always: Sequence[str] = ()) -> IndexStats:
        """Parse new and changed files and forget removed ones.

        ``excluded``: absolute directories left out (the store); ``always``: files
        indexed whatever the rules say (the caller's, relative to the root).
        """
        previous = self._listing
        listed, self._listing = source_files(
            self.root, extensions(), tuple(excluded), previous, tuple(always)
        )
        if self._listing is not previous:
            self._save_listing()
        known = {p: (s, m) for p, s, m in self.db.execute("SELECT path, size, mtime_ns FROM files")}
        changed = [f for f in listed if known.get(f.path) != (f.size, f.mtime_ns)]
        removed = known.keys() - {f.path for f in listed}
        with self.db:
            if changed or removed:
                self.db.execute("DELETE FROM meta WHERE key = 'definitions'")
            self._forget([*removed, *(f.path for f in changed)])
            for file in changed:
                self._store(file)
        self.paths = tuple(f.path for f in listed)
        return IndexStats(files=len(listed), parsed=len(changed), removed=len(removed))

    def load(self) -> None:
        """Read every definition into :attr:`definers` (name -> its definitions).

        The rows are also kept as one marshal blob, valid while the table is
        unchanged: a new process reads that three times faster than the rows.
        """
        rows = self._saved_rows()
        if rows is None:
            rows = self.db.execute("SELECT path, name, kind, line, end_line FROM defs")
            with self.db:
                self.db.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('definitions', ?)", (marshal.dumps(rows),)
                )
        definers: dict[str, list[Definition]] = {}
        for row in rows:
            definers.setdefault(row[1], []).append(Definition._make(row))
        self.definers = definers
        self._loaded = True

    def _saved_rows(self) -> list[tuple[str, str, str, int, int]] | None:
        blob = _meta(self.db, "definitions")
        try:
            rows = marshal.loads(blob) if isinstance(blob, bytes) else None
        except (EOFError, ValueError, TypeError):
            return None
        return rows if isinstance(rows, list) else None

    def summary(self, definition: Definition) -> tuple[bool, str | None]:
        """(found, text) of the rendering cached for ``definition``; text None: not renderable."""
        row = self.db.first(
            "SELECT text FROM summaries WHERE path = ? AND name = ? AND line = ?",
            (definition.path, definition.name, definition.line),
        )
        return (True, row[0]) if row else (False, None)

    def remember(self, definition: Definition, text: str | None) -> None:
        with self.db:
            self.db.execute(
                "INSERT INTO summaries VALUES (?, ?, ?, ?)",
                (definition.path, definition.name, definition.line, text),
            )

    def references(self, path: str) -> dict[str, int]:
        """Names ``path`` refers to, with counts ({} for a file not in the index)."""
        row = self.db.first("SELECT refs FROM files WHERE path = ?", (path,))
        with _damage_is_database_error():
            return json.loads(row[0]) if row else {}

    def referencing(self, names: Iterable[str]) -> list[str]:
        """Files that refer to any of ``names``."""
        found: dict[str, None] = {}
        for name in names:
            needle = json.dumps(name)
            for (path,) in self.db.execute("SELECT path FROM files WHERE instr(refs, ?)", (needle,)):
                found[path] = None
        return list(found)

    def _saved_listing(self) -> Listing | None:
        value = _meta(self.db, "listing")
        if value is None:
            return None
        try:
            key, paths, mtimes = json.loads(value)
            return Listing(str(key), tuple(paths), dict(mtimes))
        except (ValueError, TypeError):
            return None  # unreadable or of an older format: the next update lists the tree again

    def _save_listing(self) -> None:
        assert self._listing is not None
        with self.db:
            self.db.execute(
                "INSERT OR REPLACE INTO meta VALUES ('listing', ?)",
                (json.dumps([self._listing.key, self._listing.paths, self._listing.mtimes]),),
            )

    def _forget(self, paths: list[str]) -> None:
        rows = [(p,) for p in paths]
        for table in ("files", "defs", "summaries"):
            self.db.executemany(f"DELETE FROM {table} WHERE path = ?", rows)

    def _store(self, file: SourceFile) -> None:
        grammar = grammar_for(file.path)
        source = read_regular(os.path.join(self.root, file.path))
        if source is None:
            return  # vanished, replaced or unreadable since it was listed: tried again next time
        found = tags(grammar, source) if grammar is not None else Tags((), {})
        self.db.execute(
            "INSERT INTO files VALUES (?, ?, ?, ?)",
            (file.path, file.size, file.mtime_ns, json.dumps(found.references)),
        )
        self.db.executemany(
            "INSERT INTO defs VALUES (?, ?, ?, ?, ?)", [(file.path, *d) for d in found.definitions]
        )


def connect(path: str) -> Database:
    """Open (or create) the cache at ``path``; raises sqlite3.DatabaseError if it is damaged."""
    if path != ":memory:":
        make_dirs(os.path.dirname(path))  # the store's own directory, owner-only
    connection = sqlite3.connect(path, timeout=10, check_same_thread=False)
    db = Database(connection)
    try:
        db.execute("PRAGMA synchronous = OFF")  # a cache: a crash costs a rebuild, not data
        version = db.first("PRAGMA user_version")[0]
        stale = version != SCHEMA or _meta(db, "version") != _version()
        with db:
            if stale:
                db.executescript(
                    "DROP TABLE IF EXISTS files; DROP TABLE IF EXISTS defs; "
                    "DROP TABLE IF EXISTS summaries;"
                )
            db.executescript(_TABLES)
            db.execute(f"PRAGMA user_version = {SCHEMA}")
            db.execute("INSERT OR REPLACE INTO meta VALUES ('version', ?)", (_version(),))
    except BaseException:
        connection.close()
        raise
    return db


@cached(maxsize=1)
def _version() -> str:
    """Changes with the tag queries and with the code that renders and redacts summaries."""
    digest = hashlib.sha256(f"{fingerprint()} marshal {marshal.version}".encode())
    for name in _RENDERING:
        with open(os.path.join(os.path.dirname(__file__), name), "rb") as f:
            digest.update(f.read())
    return digest.hexdigest()[:16]


def _meta(db: Database, key: str) -> Any:
    with contextlib.suppress(sqlite3.OperationalError):  # no meta table yet
        row = db.first("SELECT value FROM meta WHERE key = ?", (key,))
        return row[0] if row else None
    return None
