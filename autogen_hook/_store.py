"""The store: generated modules as plain ``.py`` files, with metadata and locks beside them.

Layout of a store directory (``<project>/.autogen`` by default)::

    textutils.py          autogen.textutils: reviewable source, commit it like a lock file
    reports/daily.py      autogen.reports.daily
    __pycache__/          checked-hash bytecode (never stale, even within one second)
    .meta/textutils.json  what wrote it: provider, model, prompt digest, attempts, problems,
                          tokens, seconds, the source's hash (plain JSON: read it, commit it)
    .locks/               one lock file per module, so one process generates and others wait
    .index/               the context engine's index of the project (a cache)

Every write goes to a temporary file first and is moved into place with
``os.replace`` (``_atomic``): a crash leaves the old state, never half a module.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import importlib.util
import json
import logging
import os
import py_compile
import sys
from collections.abc import AsyncIterator
from typing import Any

from ._atomic import write_atomic
from ._errors import StoreError
from ._names import stored_file

HEADER_PREFIX = "# autogen-hook:"
_GITIGNORE = (
    "# Written by autogen-hook: bytecode, locks, the context index and unfinished writes are\n"
    "# local; the modules and .meta/ (who wrote each, from what) are meant to be committed.\n"
    "__pycache__/\n.locks/\n.index/\n.*.tmp\n"
)

if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True


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
        try:
            with open(self.path(module), encoding="utf-8") as f:
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
        locks = os.path.join(self.directory, ".locks")
        try:
            self._prepare(locks)
            fd = os.open(os.path.join(locks, f"{module}.lock"), os.O_RDWR | os.O_CREAT, 0o644)
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

    def write(self, module: str, source: str, metadata: dict[str, Any]) -> str:
        """Atomically replace the module's file, its bytecode and its metadata."""
        path = self.path(module)
        try:
            self._prepare(os.path.dirname(path))
            write_atomic(path, source, durable=True)
        except OSError as exc:
            raise self._write_error(module, exc) from None
        _compile_bytecode(path)
        try:
            self.write_metadata(module, {**metadata, "source_sha256": source_hash(source)})
        except OSError as exc:  # the module is stored and valid; metadata is a record
            logging.getLogger("autogen_hook").warning(
                "autogen-hook: could not record metadata for %s: %s", module, exc
            )
        return path

    def metadata_path(self, module: str) -> str:
        """``autogen.a.b`` -> ``<store>/.meta/a.b.json``."""
        return os.path.join(self.directory, ".meta", module.partition(".")[2] + ".json")

    def metadata(self, module: str) -> dict[str, Any] | None:
        """What was recorded when ``module`` was last written; None if nothing was, or if the
        record is unreadable (the next write replaces it)."""
        try:
            with open(self.metadata_path(module), encoding="utf-8") as f:
                value = json.load(f)
        except (OSError, ValueError):
            return None
        return value if isinstance(value, dict) else None

    def write_metadata(self, module: str, metadata: dict[str, Any]) -> None:
        """Replace the module's record (sorted keys and one key a line: it diffs well)."""
        path = self.metadata_path(module)
        self._prepare(os.path.dirname(path))
        write_atomic(path, json.dumps(metadata, indent=1, sort_keys=True, ensure_ascii=False) + "\n")

    def _prepare(self, directory: str) -> None:
        """Create ``directory`` inside the store, and the store's .gitignore with it."""
        os.makedirs(directory, exist_ok=True)
        gitignore = os.path.join(self.directory, ".gitignore")
        if not os.path.exists(gitignore):
            write_atomic(gitignore, _GITIGNORE)

    def _write_error(self, module: str, exc: OSError) -> StoreError:
        return StoreError(
            f"cannot write {module} to the store {self.directory}: {exc}. Make the directory "
            "writable or point the cache-dir setting (AUTOGEN_HOOK_CACHE_DIR) elsewhere.",
            module=module,
        )


def _compile_bytecode(path: str) -> None:
    """Write checked-hash bytecode: validated by content, so a rewrite is never masked."""
    cfile = importlib.util.cache_from_source(path)
    if sys.dont_write_bytecode:
        with contextlib.suppress(OSError):
            os.unlink(cfile)
        return
    try:
        py_compile.compile(
            path,
            cfile=cfile,
            doraise=True,
            invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH,
        )
    except (OSError, py_compile.PyCompileError):
        with contextlib.suppress(OSError):
            os.unlink(cfile)  # no bytecode is fine; stale bytecode is not
