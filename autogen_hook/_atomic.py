"""Atomic writes: a file is replaced whole or not at all, for every file the package writes.

The data goes to a unique temporary name beside the target (the same directory, so the
same file system), ``.<name>.<pid>.<8 hex>.tmp``, and is then moved over it with
``os.replace``: a crash or a concurrent reader sees the old file or the new one, never half
of one. A full disk fails the write before anything is replaced (a buffered write retries
short writes and raises on ENOSPC; the temporary file is removed). A writer killed before
its rename leaves its temporary file; :func:`remove_stale` removes those of dead writers.

Directories are made by :func:`make_dirs`: owner-only unless made inside a directory that
is shared on purpose. Standard library only, as loaded at start-up: the settings' cache
and the stored modules' bytecode are written from the warm path.
"""

import os
import stat
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

STALE_SECONDS = 60  # a writer holds its temporary file for milliseconds; see remove_stale


def write_atomic(path: str, data: str | bytes, *, durable: bool = False) -> None:
    """Replace ``path`` with ``data`` (text as UTF-8, line endings as given; the umask applies).

    ``durable`` flushes the data to disk before the rename: a stored module must survive
    a power cut, a cache need not. The temporary file is removed if anything fails.
    """
    write_all([(path, data, durable)])


def write_all(files: "Sequence[tuple[str, str | bytes, bool]]") -> None:
    """Replace several files (path, data, durable), in order, none unless every one was
    written whole: each temporary file is complete (and flushed, where durable) before the
    first rename, so a full disk leaves every file as it was."""
    staged: list[tuple[str, str]] = []
    try:
        for path, data, durable in files:
            staged.append((_stage(path, data, durable), path))
        for tmp, path in staged:
            move(tmp, path)
    except BaseException:
        for tmp, _ in staged:
            try:
                os.unlink(tmp)
            except OSError:  # renamed already, or never made
                pass
        raise


def _stage(path: str, data: str | bytes, durable: bool) -> str:
    """Write ``data`` to a new temporary file beside ``path``; return its name."""
    directory, name = os.path.split(path)
    tmp = os.path.join(directory, f".{name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with open(fd, "wb") as f:
            f.write(payload)
            if durable:
                f.flush()
                os.fsync(f.fileno())
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return tmp


def move(source: str, target: str) -> None:
    """Rename ``source`` over ``target`` in one step (a write's last, a log's rotation)."""
    os.replace(source, target)


def remove_stale(directory: str) -> None:
    """Remove the temporary files that killed writers left in ``directory``.

    Only those of a process that no longer exists, and older than a minute: a writer in
    another PID namespace sharing the directory (a container) looks dead from here, but no
    write keeps its temporary file for a minute. Anything else is left alone.
    """
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        pid = _writer(name)
        if pid is None or pid == os.getpid() or _alive(pid):
            continue
        path = os.path.join(directory, name)
        try:
            if time.time() - os.lstat(path).st_mtime >= STALE_SECONDS:
                os.unlink(path)
        except OSError:  # gone already, or not ours to remove
            pass


def _writer(name: str) -> int | None:
    """The pid in a temporary file's name ``.<name>.<pid>.<8 hex>.tmp``; None for other names."""
    if not (name.startswith(".") and name.endswith(".tmp")):
        return None
    parts = name[1:-4].rsplit(".", 2)
    if len(parts) != 3 or not parts[0] or not parts[1].isdigit() or len(parts[2]) != 8:
        return None
    if any(c not in "0123456789abcdef" for c in parts[2]):
        return None
    return int(parts[1])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists (another user's) or cannot be asked: keep its file
        return True
    return True


def make_dirs(path: str) -> None:
    """Create directory ``path`` and its missing parents, each owner-only (0700), unless its
    parent is shared on purpose: setgid, or group-writable without being writable by all
    (``/tmp`` is public, not shared). Then 0770, less what the umask removes, and the kernel
    passes setgid on."""
    if os.path.isdir(path):
        return
    parent = os.path.dirname(path)
    if parent and parent != path:
        make_dirs(parent)
    try:
        os.mkdir(path, 0o770 if _shared(parent or ".") else 0o700)
    except FileExistsError:
        if not os.path.isdir(path):
            raise


def _shared(directory: str) -> bool:
    try:
        mode = os.stat(directory).st_mode
    except OSError:
        return False
    return bool(mode & stat.S_ISGID) or bool(mode & stat.S_IWGRP and not mode & stat.S_IWOTH)
