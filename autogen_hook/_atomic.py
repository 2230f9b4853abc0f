"""Atomic writes: a file is replaced whole or not at all, for every file the package writes.

The data goes to a unique temporary name beside the target (the same directory, so the
same file system) and is then moved over it with ``os.replace``: a crash or a concurrent
reader sees the old file or the new one, never half of one. Standard library only, as
loaded at start-up: the settings' cache is written from the warm path.
"""

import os


def write_atomic(path: str, data: str | bytes, *, durable: bool = False) -> None:
    """Replace ``path`` with ``data`` (text as UTF-8, line endings as given; the umask applies).

    ``durable`` flushes the data to disk before the rename: a stored module must survive
    a power cut, a cache need not. The temporary file is removed if anything fails.
    """
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
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
