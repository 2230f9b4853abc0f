"""Review's warm answer: may these very bytes of a stored module run?

``accepted.json`` says what was accepted by SHA-256, and reading it needs ``json`` and
``hashlib``, which a warm import cannot afford (start-up loaded neither). So the cold path
(``_review``), once it has verified a module's bytes, remembers them here, in the store's
``__pycache__/accepted.marshal`` (local, like bytecode): for each module a keyed hash of
the bytes and whether they are accepted (else they are a person's own code, which only
``review = "new"`` lets run). The hash is the SipHash-1-3 that checked-hash bytecode uses
(``_imp.source_hash``, built in) under a key drawn at random for this cache, so nobody who
cannot read the cache can make other bytes that match. The cache also holds the stat of
``accepted.json`` when it was read: any change to that file (an acceptance, a pull, an
edit) voids every entry, so a revoked acceptance is never served from here.

On the warm import path: only what Python loaded at start-up.
"""

import _imp
import marshal
import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    Stamp = tuple[int, int, int, int] | None

_FORMAT = 1
_KEY_BITS = 31 if sys.platform == "win32" else 63  # the key is a C long


def accepted_file(store_dir: str) -> str:
    return os.path.join(store_dir, "accepted.json")


def stamp(path: str) -> "Stamp":
    """What changes whenever ``path`` is replaced or written: inode, size, mtime, ctime."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def verified(store_dir: str, module: str, source: bytes, strict: bool) -> bool:
    """Whether the cache says ``source`` may run: accepted, or (not ``strict``) a person's own."""
    cache = _load(store_dir)
    if cache is None or cache[0] != stamp(accepted_file(store_dir)):
        return False
    entry = cache[2].get(module)
    if not isinstance(entry, tuple) or len(entry) != 2:
        return False
    return entry[0] == _imp.source_hash(cache[1], source) and (entry[1] or not strict)


def remember(store_dir: str, module: str, source: bytes, accepted: bool, lock: "Stamp") -> None:
    """Record that ``source`` may run: ``accepted`` by accepted.json as it was at ``lock``
    (its stamp before it was read), or else a person's own code. Written even under
    PYTHONDONTWRITEBYTECODE (it is not bytecode, and it is what keeps ``always`` cheap).
    Best effort: a store that cannot be written is verified the slow way every time."""
    cache = _load(store_dir)
    key = cache[1] if cache else int.from_bytes(os.urandom(8), "little") >> (64 - _KEY_BITS)
    entries = dict(cache[2]) if cache and cache[0] == lock else {}
    entries[module] = (_imp.source_hash(key, source), accepted)
    from ._atomic import make_dirs, write_atomic

    path = _cache_file(store_dir)
    try:
        make_dirs(os.path.dirname(path))
        write_atomic(path, marshal.dumps((_FORMAT, lock, key, entries)))
    except (OSError, ValueError):
        pass


def _cache_file(store_dir: str) -> str:
    return os.path.join(store_dir, "__pycache__", "accepted.marshal")


def _load(store_dir: str) -> "tuple[Stamp, int, dict[str, Any]] | None":
    """(accepted.json's stamp, key, entries); None if there is no usable cache."""
    try:
        with open(_cache_file(store_dir), "rb") as f:
            fmt, lock, key, entries = marshal.load(f)
    except (OSError, EOFError, ValueError, TypeError):  # missing, or not ours: a miss
        return None
    if fmt != _FORMAT or not isinstance(key, int) or not isinstance(entries, dict):
        return None
    return lock, key, entries
