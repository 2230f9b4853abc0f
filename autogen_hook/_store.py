"""The store: generated modules as plain ``.py`` files, with metadata and locks beside them.

Layout of a store directory (``<project>/.autogen`` by default)::

    textutils.py          autogen.textutils: reviewable source, commit it like a lock file
    reports/daily.py      autogen.reports.daily
    __pycache__/          checked-hash bytecode (checked against the source, even within one
                          second), review's cache (accepted.marshal) and the versions last
                          accepted here (accepted/), for review's diff
    .meta/textutils.json  what wrote it: provider, model, prompt digest, attempts, problems,
                          tokens, seconds, the source's hash (plain JSON: read it, commit it)
    .history/textutils/   every earlier version: 1.py, 1.json (its record, and why it was
                          replaced), 2.py, ...; local to the checkout (see _history)
    .locks/               one lock file per module, so one process generates and others wait
    .index/               the context engine's index of the project (a cache)
    accepted.json         the reviewed lock: module -> sha256, by, at (``_review``; committed)
    audit.jsonl           one line per decision (``_audit``; a local log, rotated)

Every write goes to a temporary file first and is moved into place with
``os.replace`` (``_atomic``): a crash leaves the old state, never half a module, and a
full disk fails before the module or its record is replaced. Directories are made
owner-only (``_atomic.make_dirs``); writers remove dead writers' temporary files.
Bytecode is written by the loader (``_finder.StoredLoader``) on first import.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import importlib.util
import json
import os
import shutil
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timezone
from typing import Any

from . import _history
from ._atomic import make_dirs, remove_stale, write_all, write_atomic
from ._errors import StoreError
from ._names import metadata_file, stored_file

HEADER_PREFIX = "# autogen-hook:"
_GENERATED = f"{HEADER_PREFIX} generated module "
_GITIGNORE_HEAD = "# Written by autogen-hook:"
_GITIGNORE = (
    f"{_GITIGNORE_HEAD} bytecode, locks, the context index, unfinished writes and the\n"
    "# audit log are local; the modules, .meta/ (who wrote each, from what) and accepted.json\n"
    "# (what was reviewed) are meant to be committed.\n"
    "__pycache__/\n.locks/\n.index/\n.*.tmp\naudit.jsonl\naudit.*.jsonl\n"
)

if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _wait_lock(fd: int) -> None:
        while True:
            try:
                msvcrt.locking(fd, msvcrt.LK_LOCK, 1)  # retries for ~10 s, then raises
                return
            except OSError:
                continue

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _wait_lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX)


def source_hash(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def header(module: str, provider: str, model: str, date: str) -> str:
    """Two comment lines on top of every generated file, for the reviewer."""
    return (
        f"{HEADER_PREFIX} generated module {module} ({provider}, {model}, {date}).\n"
        f"{HEADER_PREFIX} review it like your own code; delete this file to generate it again.\n"
    )


def strip_header(source: str) -> str:
    """The module without our header, as the model should see it when extending."""
    lines = source.splitlines(keepends=True)
    while lines and lines[0].startswith(HEADER_PREFIX):
        lines.pop(0)
    return "".join(lines).lstrip("\n")


class Store:
    """The generated modules of one namespace in one directory."""

    def __init__(self, directory: str) -> None:
        self.directory = directory

    def path(self, module: str) -> str:
        return stored_file(self.directory, module)

    def read(self, module: str) -> str | None:
        """The stored source exactly as on disk (no newline translation): its hash is the file's,
        as review and the record compute it, also for a CRLF checkout."""
        try:
            with open(self.path(module), encoding="utf-8", newline="") as f:
                return f.read()
        except (FileNotFoundError, NotADirectoryError):  # not stored (yet), or no store at all
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise StoreError(
                f"cannot read the stored source of {module} at {self.path(module)}: {exc}. "
                "Fix or delete the file.",
                module=module,
            ) from None

    @contextlib.asynccontextmanager
    async def lock(self, module: str) -> AsyncIterator[None]:
        """Hold the cross-process lock of ``module``; other holders make us wait.

        flock belongs to the open file, so threads of one process exclude each
        other too, and the lock goes away with a process that dies holding it.
        """
        try:
            fd = self._lock_file(f"{module}.lock")
        except OSError as exc:
            raise self._write_error(module, exc) from None
        try:
            delay = 0.005
            while not _try_lock(fd):
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.2)
            yield
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def hold(self, name: str) -> Iterator[None]:
        """Hold the lock ``.locks/<name>`` (blocking) around a short read-modify-write of a
        shared file; ``name`` starts with a dot, so it is never a module's lock. Raises
        OSError when the lock cannot be made."""
        fd = self._lock_file(name)
        try:
            _wait_lock(fd)
            yield
        finally:
            os.close(fd)

    def _lock_file(self, name: str) -> int:
        locks = os.path.join(self.directory, ".locks")
        self._prepare(locks)
        return os.open(os.path.join(locks, name), os.O_RDWR | os.O_CREAT, 0o644)

    def write(self, module: str, source: str, metadata: dict[str, Any], replacing: str = "replaced") -> str:
        """Atomically replace the module's file and its record, or neither; the version it
        replaces goes to the history first, ``replacing`` saying why; then its stale bytecode
        goes (the loader writes the new one on first import). ``metadata`` may carry its own
        ``source_sha256`` (a restored version's record, kept as it was)."""
        path = self.path(module)
        record = {"source_sha256": source_hash(source), **metadata}
        meta = self.metadata_path(module)
        try:
            self._prepare(os.path.dirname(path), os.path.dirname(meta))
            bytecode = os.path.join(os.path.dirname(path), "__pycache__")
            self._remove_stale(os.path.dirname(path), os.path.dirname(meta), bytecode)
            self._keep_current(module, replacing)
            # the record first: a crash between the renames leaves the old module with a
            # record that does not match it, which review reads as a hand edit of the old
            # module; the other order would let a new module pass as one
            write_all([(meta, _record_text(record), True), (path, source, True)])
        except OSError as exc:
            raise self._write_error(module, exc) from None
        _drop_bytecode(path)
        return path

    def restore(self, module: str, version: _history.Version) -> str:
        """Store ``version`` again with the record it had (``rollback``, and ``--until-pass``
        when the tests never passed); the version it replaces joins the history, so nothing is
        lost. The caller holds the module's lock."""
        record = {"source_sha256": None, **(version.metadata or {}), "restored_from": version.number,
                  "restored_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        return self.write(module, version.source(), record, f"rolled back to version {version.number}")

    def modules(self, namespace: str) -> list[str]:
        """Every module stored here, by name, sorted (private and hidden names aside, as
        the finder never serves them)."""
        found = []
        for directory, subdirectories, files in os.walk(self.directory):
            subdirectories[:] = [d for d in subdirectories if d.isidentifier() and d[0] != "_"]
            relative = os.path.relpath(directory, self.directory)
            parts = [] if relative == os.curdir else relative.split(os.sep)
            found += [
                ".".join([namespace, *parts, name[:-3]])
                for name in files
                if name.endswith(".py") and name[:-3].isidentifier() and name[0] != "_"
            ]
        return sorted(found)

    def remove(self, module: str, because: str) -> None:
        """Delete the module's file, bytecode and metadata, the version kept in the history."""
        try:
            self._keep_current(module, because)
            for path in (self.path(module), self.metadata_path(module)):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
        except OSError as exc:
            raise self._write_error(module, exc) from None
        _drop_bytecode(self.path(module))

    def _keep_current(self, module: str, because: str) -> None:
        """The stored version, if any, becomes the newest in the module's history."""
        current = self.read(module)
        if current is not None:
            _history.keep(self.directory, module, current, self.metadata(module), source_hash(current), because)

    def write_metadata(self, module: str, record: dict[str, Any]) -> None:
        """Replace the module's record alone (``mark-edited``): the module stays as it is."""
        meta = self.metadata_path(module)
        try:
            self._prepare(os.path.dirname(meta))
            write_atomic(meta, _record_text(record), durable=True)
        except OSError as exc:
            raise self._write_error(module, exc) from None

    def metadata_path(self, module: str) -> str:
        """``autogen.a.b`` -> ``<store>/.meta/a.b.json``."""
        return metadata_file(self.directory, module)

    def metadata(self, module: str) -> dict[str, Any] | None:
        """What was recorded when ``module`` was last written; None if nothing was. An
        unreadable record (garbage, a torn copy) is rebuilt from the stored module's header
        and hash, marked ``"rebuilt": true``; the next write replaces it."""
        try:
            with open(self.metadata_path(module), encoding="utf-8") as f:
                value = json.load(f)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except (OSError, ValueError):
            value = None
        if isinstance(value, dict):
            return value
        try:
            source = self.read(module)
        except StoreError:
            source = None
        return rebuilt_metadata(module, source) if source is not None else None

    def check_space(self, module: str, needed: int) -> None:
        """Raise StoreError, before anything is asked of a provider, when the store's file
        system has less than ``needed`` bytes (or a few inodes) free for its non-root users:
        a paid-for answer would have nowhere to go."""
        where = self.directory
        while not os.path.isdir(where) and os.path.dirname(where) != where:
            where = os.path.dirname(where)
        try:
            free = shutil.disk_usage(where).free
            inodes = os.statvfs(where) if hasattr(os, "statvfs") else None
        except OSError:
            return  # cannot tell: the write will say
        short_of_inodes = inodes is not None and inodes.f_files > 0 and inodes.f_favail < 16
        if free >= needed and not short_of_inodes:
            return
        what = "inodes" if short_of_inodes else f"space ({free:,} bytes free, {needed:,} needed)"
        raise StoreError(
            f"cannot store {module}: the file system of the store {self.directory} is out of "
            f"{what}. Nothing was asked of a provider; free some space (or point the cache-dir "
            "setting elsewhere) and import again.",
            module=module,
        )

    def _prepare(self, *directories: str) -> None:
        """Create ``directories`` inside the store, and the store's .gitignore with them."""
        for directory in directories:
            make_dirs(directory)
        _write_gitignore(os.path.join(self.directory, ".gitignore"))

    def _remove_stale(self, *directories: str) -> None:
        """Dead writers' temporary files, in the directories written now (bytecode's too) and
        the store's own (a .gitignore's, accepted.json's)."""
        for directory in dict.fromkeys((self.directory, *directories)):
            remove_stale(directory)

    def _write_error(self, module: str, exc: OSError) -> StoreError:
        return StoreError(
            f"cannot write {module} to the store {self.directory}: {exc}. Make the directory "
            "writable (or free some space), or point the cache-dir setting "
            "(AUTOGEN_HOOK_CACHE_DIR) elsewhere.",
            module=module,
        )


def _record_text(record: dict[str, Any]) -> str:
    """Sorted keys and one key a line: it diffs well."""
    return json.dumps(record, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def rebuilt_metadata(module: str, source: str) -> dict[str, Any]:
    """What the stored source itself says of ``module``: its header's provider, model and
    date, and its hash when it has the header (a module without one is a person's)."""
    record: dict[str, Any] = {"module": module, "rebuilt": True, "source_sha256": None}
    first = source.partition("\n")[0]
    if first.startswith(_GENERATED):
        inside = first.partition("(")[2].rpartition(")")[0]
        provider, _, rest = inside.partition(", ")
        model, _, date = rest.rpartition(", ")
        record.update(provider=provider, model=model, written_at=date,
                      source_sha256=source_hash(source))
    return record


def _write_gitignore(path: str) -> None:
    """Write the store's .gitignore, or add the lines a store written by an older version
    lacks (a file that is not ours, without our first line, is left alone)."""
    try:
        with open(path, encoding="utf-8") as f:
            current = f.read()
    except FileNotFoundError:
        current = ""
    if current and not current.startswith(_GITIGNORE_HEAD):
        return
    have = set(current.splitlines())
    missing = [line for line in _GITIGNORE.splitlines() if line not in have and not line.startswith("#")]
    if not current:
        write_atomic(path, _GITIGNORE)
    elif missing:
        write_atomic(path, current.rstrip("\n") + "\n" + "\n".join(missing) + "\n")


def _drop_bytecode(path: str) -> None:
    """Remove the module's bytecode: checked-hash bytecode is never used stale, but under
    ``--check-hash-based-pycs never`` it would be."""
    with contextlib.suppress(OSError):
        os.unlink(importlib.util.cache_from_source(path))
