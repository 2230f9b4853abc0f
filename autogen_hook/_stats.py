"""``autogen-hook stats``: what generation cost and how it went, from the records the store keeps.

Two sources, neither complete alone:

* the records of every stored module and of every version in its history: one per
  generation that stored something (copies a rollback restored are counted once), with its
  provider, model, attempts (each a provider call), the problems of the attempts that
  failed validation, tokens and seconds;
* the audit log (``audit.jsonl``, ``_audit``): it also sees what stored nothing (generations
  that failed, by why) and review's decisions. Its events are counted as they are named.

Store hits are in neither: an import of a stored module is a plain import and writes nothing
(that is what keeps it as cheap as one); ``autogen_hook.stats()`` counts them in a process.
"""

from __future__ import annotations

import statistics
from collections import Counter
from typing import Any

from . import _history
from ._inventory import stored_modules
from ._settings import Settings

_REASONS = (  # how a problem begins -> what failed
    ("the safety policy refused", "capability policy"),
    ("the module does not do what its examples say", "examples"),
    ("the caller's calls do not fit", "the caller's calls"),
    ("the project's validators refused", "the project's validators"),
    ("importing the module", "import check"),
    ("after importing", "import check"),
    ("these requested names", "requested names"),
    ("the module must keep", "kept names"),
    ("the answer was cut off", "max-tokens"),
    ("the reply held no code", "no code"),
    ("black cannot", "formatting"),
    ("line ", "syntax or imports"),
)


def stats(settings: Settings) -> dict[str, Any]:
    """The figures, as ``stats --json`` prints them."""
    records = generation_records(settings)
    seconds = sorted(float(r["seconds"]) for r in records if isinstance(r.get("seconds"), (int, float)))
    failed: Counter[str] = Counter(reason(p) for r in records for p in r.get("problems") or ())
    audit = audit_records(settings.store_dir)
    for record in audit:
        if record.get("event") == "failed":
            failed[f"{_failure(record)} (generation failed)"] += 1
    return {
        "generations": len(records),
        "provider_calls": sum(int(r.get("attempts") or 0) for r in records),
        "failures": dict(failed.most_common()),
        "tokens": {
            "input": sum(int(r.get("input_tokens") or 0) for r in records),
            "output": sum(int(r.get("output_tokens") or 0) for r in records),
        },
        "latency": {
            "count": len(seconds),
            "mean": round(statistics.fmean(seconds), 3) if seconds else None,
            "p95": round(_percentile(seconds, 0.95), 3) if seconds else None,
        },
        "models": dict(Counter(f"{r.get('provider')}:{r.get('model')}" for r in records).most_common()),
        "review": _review(audit) if audit else None,
        "audit": {"records": len(audit), "events": dict(Counter(str(r.get("event")) for r in audit))}
        if audit else None,
    }


def generation_records(settings: Settings) -> list[dict[str, Any]]:
    """One record per generation that stored a module, current or replaced since."""
    records = [m.metadata for m in stored_modules(settings) if m.metadata]
    for module in _history.modules(settings.store_dir, settings.namespace):
        records += [v.metadata for v in _history.versions(settings.store_dir, module) if v.metadata]
    unique: dict[tuple[object, ...], dict[str, Any]] = {}
    for record in records:
        if "attempts" in record:  # a record mark-edited wrote for a hand-written module has none
            unique.setdefault((record.get("module"), record.get("written_at"), record.get("source_sha256")), record)
    return list(unique.values())


def audit_records(store_dir: str) -> list[dict[str, Any]]:
    """The audit log's records, the rotated file's first ([] if the project keeps none)."""
    from ._audit import read

    return list(read(store_dir))


def reason(problem: str) -> str:
    """What failed, by how the problem's message begins."""
    text = problem.strip()
    return next((what for start, what in _REASONS if text.startswith(start)), "other")


def _failure(record: dict[str, Any]) -> str:
    """Why a failed generation stored nothing: the providers, the store, or what its last
    attempt's problem says."""
    decision = record.get("decision")
    if decision == "failed-provider":
        return "provider"
    if decision == "failed-store":
        return "store"
    problems = record.get("problems") or ["?"]
    return reason(str(problems[-1]))


def _review(audit: list[dict[str, Any]]) -> dict[str, int]:
    """Review's decisions: modules accepted, and imports refused until they are."""
    decisions = Counter(str(r.get("decision")) for r in audit)
    return {"accepted": decisions["accepted"], "refused": decisions["refused-review"]}


def _percentile(ordered: list[float], fraction: float) -> float:
    """The nearest-rank percentile of sorted values."""
    rank = max(1, int(-(-fraction * len(ordered) // 1)))
    return ordered[rank - 1]
