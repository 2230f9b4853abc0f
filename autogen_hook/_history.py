"""Version history: every version of a stored module that a write replaced, and why.

Inside the store::

    .history/<dotted-rest>/<n>.py    version n's source (1 is the oldest)
    .history/<dotted-rest>/<n>.json  {"metadata": its .meta record (null if it had none),
                                      "sha256": the hash of <n>.py, "replaced_at": ...,
                                      "replaced_because": "regenerated (keep whole words)"}

The history is local to a checkout (``.history/.gitignore`` holds ``*``): git is the team's
history of the committed modules; this one also holds the versions that never reached a
commit (each regeneration tried before one was kept), for ``diff`` and ``rollback``. Writes
happen under the module's lock, so numbers never collide.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ._atomic import make_dirs, write_atomic

DIRECTORY = ".history"
_IGNORE_ALL = "# Written by autogen-hook: the version history is local to this checkout.\n*\n"


@dataclass(frozen=True)
class Version:
    """One kept version of a module."""

    number: int
    path: str  # its source file
    record: dict[str, Any]  # what <n>.json says ({} if it is missing or unreadable)

    @property
    def metadata(self) -> dict[str, Any] | None:
        """The module's .meta record as it was while this version was stored."""
        value = self.record.get("metadata")
        return value if isinstance(value, dict) else None

    def source(self) -> str:
        with open(self.path, encoding="utf-8") as f:
            return f.read()


def folder(store_dir: str, module: str) -> str:
    """``autogen.a.b`` -> ``<store>/.history/a.b``."""
    return os.path.join(store_dir, DIRECTORY, module.partition(".")[2])


def modules(store_dir: str, namespace: str) -> list[str]:
    """Every module with a history, stored now or not."""
    try:
        names = os.listdir(os.path.join(store_dir, DIRECTORY))
    except OSError:
        return []
    return sorted(f"{namespace}.{n}" for n in names if not n.startswith("."))


def versions(store_dir: str, module: str) -> list[Version]:
    """Every kept version of ``module``, oldest first."""
    where = folder(store_dir, module)
    try:
        names = os.listdir(where)
    except OSError:
        return []
    numbers = sorted(int(n[:-3]) for n in names if n.endswith(".py") and n[:-3].isdecimal())
    return [Version(n, os.path.join(where, f"{n}.py"), _record(os.path.join(where, f"{n}.json"))) for n in numbers]


def keep(
    store_dir: str, module: str, source: str, metadata: dict[str, Any] | None, sha256: str, because: str
) -> Version:
    """Add ``source`` (with the record it had) as the next version of ``module``."""
    where = folder(store_dir, module)
    make_dirs(where)
    marker = os.path.join(store_dir, DIRECTORY, ".gitignore")
    if not os.path.exists(marker):
        write_atomic(marker, _IGNORE_ALL)
    kept = versions(store_dir, module)
    number = kept[-1].number + 1 if kept else 1
    record = {
        "metadata": metadata,
        "sha256": sha256,
        "replaced_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "replaced_because": because,
    }
    path = os.path.join(where, f"{number}.py")
    write_atomic(path, source, durable=True)
    write_atomic(os.path.join(where, f"{number}.json"), json.dumps(record, indent=1, sort_keys=True) + "\n")
    return Version(number, path, record)


def _record(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as f:
            value = json.load(f)
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}
