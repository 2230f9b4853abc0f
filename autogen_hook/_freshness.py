"""Freshness: whether a stored module was generated from what the project says now.

A module is stale when the project's description of it is not the one it was generated from
(its metadata keeps the description's digest, not the text: the metadata is committed), or
when the ``ttl`` setting is on and the module is older than that. A stale module is still
used as it is; ``list`` and ``check`` say so, ``regenerate`` and ``warm --stale`` refresh it.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import Any


def description_digest(description: str | None) -> str | None:
    """What the metadata records of the description a module was generated from."""
    if not description:
        return None
    return hashlib.sha256(description.strip().encode("utf-8")).hexdigest()


def stale_reasons(
    metadata: dict[str, Any] | None, description: str | None, ttl: float, now: datetime | None = None
) -> list[str]:
    """Why a module generated with ``metadata`` is stale under the project's ``description``
    and ``ttl`` (seconds, 0: off); [] if it is fresh, or was never generated (no record).

    A description counts only when the project gives one now: a module generated with a
    description passed to ``generate()`` is not stale for want of one in the settings.
    """
    if not metadata:
        return []
    reasons = []
    if description and "description_sha256" in metadata:
        if metadata["description_sha256"] != description_digest(description):
            reasons.append("its description changed")
    written = _parsed(metadata.get("written_at"))
    if ttl and written is not None:
        age = ((now or datetime.now(timezone.utc)) - written).total_seconds()
        if age > ttl:
            reasons.append(f"it is {_days(age)} old, older than the ttl setting ({_days(ttl)})")
    return reasons


def _parsed(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _days(seconds: float) -> str:
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} days".replace(".0 ", " ")
    return f"{seconds / 3600:.1f} hours".replace(".0 ", " ")
