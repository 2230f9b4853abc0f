"""The audit log: one JSON object a line in ``<store>/audit.jsonl`` for every decision.

Every line has ``time`` (ISO 8601, UTC), ``event``, ``decision``, ``module``, ``names``,
``provider``, ``model``, ``prompt_sha256``, ``source_sha256`` and ``problems`` (redacted
by the caller; never the prompt, only its digest), null or empty where they do not apply,
and where known ``attempts``, ``input_tokens``, ``output_tokens``, ``seconds``, ``by`` and
``how``:

    event      decision             when
    generated  stored               a module was generated and stored
    rejected   refused-policy       an attempt's reply was refused by the capability policy
    rejected   refused-check        ... by the import check (the sandboxed import)
    rejected   refused-examples     ... by its examples (run in the import check's process)
    rejected   refused-validation   ... by the other checks (no code, syntax, names, the
                                    caller's calls, black, cut off at max-tokens, secrets)
    rejected   refused-review       review refused the module: at the prompt, or no terminal
    accepted   accepted             a module was accepted: at the prompt or by ``accept``
    failed     failed-provider      the providers could not answer
    failed     failed-validation    every attempt was refused
    failed     failed-store         the store could not hold it (a full disk: detected
                                    before the provider was asked where it could be)

Lines are appended under the store's lock ``.locks/.audit``, each with one ``write`` to
a file opened for appending, so lines of concurrent processes never mix; a short write (a
full disk) is cut back off, so the log never ends in half a line. Past ``LIMIT`` bytes the
log becomes ``audit.1.jsonl`` (replacing the one before) and a new one starts. A line that
cannot be written is reported once per process as a warning and never fails an import.
"""

from __future__ import annotations

import errno
import json
import logging
import os
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ._atomic import move
from ._state import STATE
from ._store import Store

if TYPE_CHECKING:
    import argparse

LIMIT = 1 << 20  # bytes: ~2,000 to 4,000 lines; two files at most on disk
FILE, ROTATED = "audit.jsonl", "audit.1.jsonl"


def record(store_dir: str, event: str, decision: str, module: str, **fields: Any) -> None:
    """Append one line; ``fields`` add to or replace the schema's defaults."""
    line = {
        "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
        "event": event,
        "decision": decision,
        "module": module,
        "names": [],
        "provider": None,
        "model": None,
        "prompt_sha256": None,
        "source_sha256": None,
        "problems": [],
        **fields,
    }
    data = (json.dumps(line, ensure_ascii=False) + "\n").encode("utf-8")
    try:
        with Store(store_dir).hold(".audit"):
            _append(store_dir, data)
    except OSError as exc:
        if not STATE.audit_warned:
            STATE.audit_warned = True
            logging.getLogger("autogen_hook").warning(
                "autogen-hook: could not write to the audit log in %s: %s", store_dir, exc
            )


def _append(store_dir: str, data: bytes) -> None:
    """Write ``data`` at the end of the log in one write, rotating first if it would grow
    past LIMIT; the caller holds the log's lock."""
    path = os.path.join(store_dir, FILE)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.fstat(fd).st_size
        if size and size + len(data) > LIMIT:
            os.close(fd)
            fd = -1
            move(path, os.path.join(store_dir, ROTATED))
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            size = 0
        if os.write(fd, data) != len(data):
            os.ftruncate(fd, size)
            raise OSError(errno.ENOSPC, "the line was written only in part, and taken back")
    finally:
        if fd >= 0:
            os.close(fd)


def read(store_dir: str) -> Iterator[dict[str, Any]]:
    """Every line of the log, oldest first (the rotated file, then the current one); a
    line that is not a JSON object (a log edited by hand) is passed over."""
    for name in (ROTATED, FILE):
        try:
            f = open(os.path.join(store_dir, name), encoding="utf-8", errors="replace")
        except FileNotFoundError:
            continue
        with f:
            for line in f:
                try:
                    value = json.loads(line)
                except ValueError:
                    continue
                if isinstance(value, dict):
                    yield value


def command(args: argparse.Namespace, store_dir: str) -> int:
    """``autogen-hook audit [--json]``: the log, one line per decision."""
    for entry in read(store_dir):
        print(json.dumps(entry, ensure_ascii=False) if args.json else _row(entry))
    return 0


def _row(entry: dict[str, Any]) -> str:
    """time, event, decision, module, who, and the first problem's first line."""
    who = entry.get("by") or "/".join(str(entry[k]) for k in ("provider", "model") if entry.get(k))
    problems = entry.get("problems") or []
    first = str(problems[0]).splitlines()[0] if problems and str(problems[0]) else ""
    cells = [str(entry.get(k) or "-") for k in ("time", "event", "decision", "module")]
    row = f"{cells[0]:<29} {cells[1]:<9} {cells[2]:<18} {cells[3]}  {who or '-'}"
    return f"{row}  {first[:100]}" if first else row
