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
    found = (loaded(store, module) for module in store.modules(settings.namespace))
    return [m for m in found if m is not None]


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
    """Whether review lets this very source run without asking (``_review.is_accepted``);
    None when the project does not ask for review."""
    from ._review import is_accepted

    return is_accepted(settings.store_dir, stored.module, stored.source.encode("utf-8"), settings.review)
