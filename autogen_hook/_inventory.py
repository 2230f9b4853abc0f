"""What a store holds: each stored module with its record, who wrote it, and its state.

Origins, by the source's hash against the module's record (``.meta/<module>.json``):

    generated   the source is what autogen-hook stored (``source_sha256``)
    edited      it differs, and someone recorded that on purpose (``autogen-hook mark-edited``)
    unmarked    it differs from what was stored, and nobody recorded the edit
    unrecorded  no record says who wrote it (a module written by hand, or a lost record)

``check`` accepts the first two. Staleness (``_freshness``) and review (``accepted.json``,
when the project's ``review`` setting asks for it) are independent of the origin.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cached_property
from typing import Any

from ._freshness import stale_reasons
from ._settings import Settings
from ._store import Store, source_hash

ORIGINS = {
    "generated": "generated",
    "edited": "edited by hand",
    "unmarked": "edited by hand, not marked",
    "unrecorded": "no record",
}


@dataclass(frozen=True)
class StoredModule:
    """One module of the store, as it is on disk now."""

    module: str
    path: str
    source: str
    metadata: dict[str, Any] | None

    @cached_property
    def sha256(self) -> str:
        return source_hash(self.source)

    @property
    def size(self) -> int:
        return len(self.source.encode("utf-8"))

    @property
    def origin(self) -> str:
        """generated, edited, unmarked or unrecorded (see the module's docstring)."""
        record = self.metadata or {}
        edited = record.get("edited")
        if isinstance(edited, dict) and edited.get("sha256") == self.sha256:
            return "edited"
        recorded = record.get("source_sha256")
        if recorded == self.sha256:
            return "generated"
        return "unrecorded" if recorded is None else "unmarked"

    def stale(self, settings: Settings, now: datetime | None = None) -> list[str]:
        return stale_reasons(self.metadata, settings.descriptions.get(self.module), settings.ttl, now)

    def state(self, settings: Settings) -> dict[str, Any]:
        """The origin, why it is stale, and whether review still waits for it (None: no review)."""
        return {"origin": self.origin, "stale": self.stale(settings), "accepted": accepted(settings, self)}


def stored_modules(settings: Settings) -> list[StoredModule]:
    """Every module in the project's store, by name."""
    store = Store(settings.store_dir)
    found = []
    for directory, subdirectories, files in os.walk(settings.store_dir):
        subdirectories[:] = [d for d in subdirectories if d.isidentifier() and d != "__pycache__"]
        relative = os.path.relpath(directory, settings.store_dir)
        parts = [] if relative == os.curdir else relative.split(os.sep)
        for name in files:
            stem = name[:-3]
            if name.endswith(".py") and stem.isidentifier() and not stem.startswith("__"):
                found.append(loaded(store, ".".join([settings.namespace, *parts, stem])))
    return sorted((m for m in found if m is not None), key=lambda m: m.module)


def loaded(store: Store, module: str) -> StoredModule | None:
    """``module`` as stored, or None if it is not."""
    source = store.read(module)
    if source is None:
        return None
    return StoredModule(module, store.path(module), source, store.metadata(module))


def mark_edited(store: Store, stored: StoredModule, by: str) -> dict[str, Any]:
    """Record that the module's source, as it is now, was edited on purpose; the new record."""
    record = dict(stored.metadata or {"module": stored.module})
    record["edited"] = {"sha256": stored.sha256, "by": by,
                        "at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    store.write_metadata(stored.module, record)
    return record


def accepted(settings: Settings, stored: StoredModule) -> bool | None:
    """Whether review lets this very source run: under ``review = "always"`` when
    ``accepted.json`` holds its hash, under ``"new"`` also when it is a person's own code (not
    as generated); None when the project does not ask for review."""
    mode = getattr(settings, "review", "never")  # the review setting comes with review itself
    if mode not in ("new", "always"):
        return None
    if mode == "new" and stored.origin != "generated":
        return True
    try:
        with open(os.path.join(settings.store_dir, "accepted.json"), encoding="utf-8") as f:
            table = json.load(f)
    except (OSError, ValueError):
        return False
    entry = table.get(stored.module) if isinstance(table, dict) else None
    return isinstance(entry, dict) and entry.get("sha256") == stored.sha256
