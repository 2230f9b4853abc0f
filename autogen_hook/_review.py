"""Review before first run: the cold half of the ``review`` setting, and ``autogen-hook accept``.

``review = "new"``: a module the model wrote does not run until it is accepted; a person's
own code runs. A module is the model's while its SHA-256 is the one ``.meta/`` recorded for
what the model wrote (without a readable record: while it starts with the generated
header); any other content is a hand edit, and editing counts as accepting your own code.
``review = "always"``: every stored module's SHA-256 must be in ``accepted.json``, hand
edits included.

``accepted.json`` (committed: a reviewed lock) maps each module to the ``sha256`` accepted,
``by`` whom (git's ``user.name <user.email>`` where git knows them, else the login name) and
``at`` what time; it is replaced atomically under the store's lock ``.locks/.accepted``.

Where stdin and stderr are terminals (and ``CI`` is not set) the module is shown, with the
diff against the version last accepted here (kept in ``__pycache__/accepted/``), and the
user is asked; elsewhere the import fails closed with NotAcceptedError naming
``autogen-hook accept``. Every decision is an audit line. The loader remembers each
verdict, and answers the warm imports after from that (``_finder``).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from typing import TYPE_CHECKING, Any

from ._atomic import make_dirs, write_atomic
from ._errors import NotAcceptedError, StoreError
from ._names import accepted_file, module_problem
from ._state import STATE

if TYPE_CHECKING:
    import argparse

    from ._settings import Settings
    from ._store import Store

# A module verified on a warm cache miss needs only json and hashlib; what asks, diffs and
# records (the store's records, the audit log, difflib) is imported when it is needed.


def review(store_dir: str, module: str, path: str, source: bytes, mode: str) -> bool:
    """Whether ``source`` (the stored file's bytes) may run under ``mode``: True when it is
    accepted (already, or now at the prompt), False when it is a person's own code (which
    ``new`` lets run); else raise NotAcceptedError."""
    lock, trouble = _read_lock(store_dir)
    sha = hashlib.sha256(source).hexdigest()
    entry = lock.get(module) or {}
    if entry.get("sha256") == sha:
        _keep_base(store_dir, module, source)
        return True
    from ._store import Store

    text = _decode(source)
    record = _by_model(Store(store_dir), module, text, sha)
    if mode == "new" and record is None:  # a person's own code
        return False
    reason = f'review is "{mode}", and ' + (trouble or _origin(record, entry))
    if interactive():
        if _ask(module, path, text, _base(store_dir, module, entry), reason):
            accept(store_dir, module, source, "prompt")
            return True
        how, said = "prompt", f"{module} was not accepted at the prompt ({reason})"
    else:
        how, said = "no terminal", f"{module} does not run until it is accepted: {reason}"
    _audit_decision(store_dir, module, sha, record, "rejected", "refused-review", how, [reason])
    raise NotAcceptedError(
        f"{said}. Read {path}, then accept it with `autogen-hook accept {module}` (or every "
        "module waiting: `autogen-hook accept --all`).",
        module=module,
    )


def is_accepted(store_dir: str, module: str, source: bytes, mode: str) -> bool | None:
    """Whether ``source`` may run under ``mode`` without asking anyone (``list`` and
    ``check`` show it): True when accepted.json holds its hash, or under ``new`` when it is a
    person's own code; None when ``mode`` asks for no review."""
    if mode not in ("new", "always"):
        return None
    sha = hashlib.sha256(source).hexdigest()
    if (_read_lock(store_dir)[0].get(module) or {}).get("sha256") == sha:
        return True
    if mode == "always":
        return False
    from ._store import Store

    return _by_model(Store(store_dir), module, _decode(source), sha) is None


def accept(store_dir: str, module: str, source: bytes, how: str) -> dict[str, str]:
    """Record ``source`` as the accepted version of ``module``; return its entry. Raises
    StoreError when accepted.json cannot be read or written (a merge conflict in it is
    never overwritten)."""
    from datetime import datetime, timezone

    from ._store import Store

    sha = hashlib.sha256(source).hexdigest()
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    entry = {"sha256": sha, "by": who(store_dir), "at": now}
    store = Store(store_dir)
    path = accepted_file(store_dir)
    try:
        with store.hold(".accepted"):
            lock, trouble = _read_lock(store_dir)
            if trouble:
                raise StoreError(f"cannot accept {module}: {trouble}", module=module)
            lock[module] = entry
            write_atomic(path, json.dumps(lock, indent=1, sort_keys=True, ensure_ascii=False) + "\n",
                         durable=True)
    except OSError as exc:
        raise StoreError(f"cannot record the acceptance of {module} in {path}: {exc}", module=module) from None
    _keep_base(store_dir, module, source)
    record = _by_model(store, module, _decode(source), sha)
    _audit_decision(store_dir, module, sha, record, "accepted", "accepted", how, [], by=entry["by"])
    return entry


def interactive() -> bool:
    """Whether a person can be asked: stdin and stderr are terminals, and not in CI."""
    from ._settings import in_ci

    if in_ci(os.environ):
        return False
    try:
        return bool(sys.stdin and sys.stdin.isatty() and sys.stderr and sys.stderr.isatty())
    except (AttributeError, OSError, ValueError):  # replaced or closed streams (pytest's)
        return False


def _read_lock(store_dir: str) -> tuple[dict[str, dict[str, Any]], str | None]:
    """accepted.json's entries, and what is wrong with it (None if nothing): an unreadable
    lock accepts nothing."""
    path = accepted_file(store_dir)
    try:
        with open(path, encoding="utf-8") as f:
            value = json.load(f)
    except FileNotFoundError:
        return {}, None
    except (OSError, ValueError) as exc:
        return {}, f"{path} cannot be read ({exc}; a merge conflict?): fix it, nothing counts as accepted until then"
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        return {}, f"{path} is not a table of modules: fix it, nothing counts as accepted until then"
    return value, None


def _by_model(store: Store, module: str, text: str, sha: str) -> dict[str, Any] | None:
    """The record of the generation that wrote exactly this source, or None when a person
    wrote or edited it."""
    from ._store import rebuilt_metadata

    record = store.metadata(module) or rebuilt_metadata(module, text)
    return record if record.get("source_sha256") == sha else None


def _origin(record: dict[str, Any] | None, entry: dict[str, Any]) -> str:
    """Who wrote the module and how it stands against its last acceptance, for people."""
    wrote = (
        f"the model ({record.get('provider')}, {record.get('model')}) wrote it"
        if record is not None else "a person wrote or edited it"
    )
    if not entry:
        return f"{wrote}; nobody has accepted it"
    return (
        f"{wrote} since the version accepted by {entry.get('by')} at {entry.get('at')} "
        f"(sha256 {str(entry.get('sha256'))[:12]}...)"
    )


def _ask(module: str, path: str, text: str, base: str | None, reason: str) -> bool:
    """Show the module (and the diff from ``base``), ask; True only for y or yes."""
    with STATE.terminal:  # threads importing at once ask one at a time
        line = STATE.status_line
        if line is not None:
            line.clear()
        sys.stderr.write(_shown(module, path, text, base, reason))
        sys.stderr.write(f"Accept {module} and run it? [y/N] ")
        sys.stderr.flush()
        answer = sys.stdin.readline()
    return answer.strip().lower() in ("y", "yes")


def _shown(module: str, path: str, text: str, base: str | None, reason: str) -> str:
    import difflib

    lines = text.splitlines()
    width = len(str(len(lines)))
    shown = [f"\nautogen-hook: {module} waits for review: {reason}.", f"---- {path} ----"]
    shown += [f"{n:>{width}}  {line}" for n, line in enumerate(lines, 1)]
    if base is not None:
        shown.append("---- what changed since it was last accepted ----")
        diff = difflib.unified_diff(base.splitlines(), lines, "accepted", path, lineterm="")
        shown += list(diff) or ["(no change in the text)"]
    return "\n".join(shown) + "\n"


def _base_file(store_dir: str, module: str) -> str:
    return os.path.join(store_dir, "__pycache__", "accepted", module.partition(".")[2] + ".py")


def _base(store_dir: str, module: str, entry: dict[str, Any]) -> str | None:
    """The version ``entry`` accepted, if this machine kept it."""
    try:
        with open(_base_file(store_dir, module), "rb") as f:
            data = f.read()
    except OSError:
        return None
    return _decode(data) if entry and hashlib.sha256(data).hexdigest() == entry.get("sha256") else None


def _keep_base(store_dir: str, module: str, source: bytes) -> None:
    """Keep the accepted version, for the diff when the module next changes (a local cache
    beside bytecode; best effort)."""
    path = _base_file(store_dir, module)
    try:
        with open(path, "rb") as f:
            if f.read() == source:
                return
    except OSError:
        pass
    try:
        make_dirs(os.path.dirname(path))
        write_atomic(path, source)
    except OSError:
        pass


def _decode(source: bytes) -> str:
    """As Python decodes source (coding cookie, BOM); undecodable bytes shown as such."""
    import importlib.util

    try:
        return importlib.util.decode_source(source)
    except (SyntaxError, UnicodeDecodeError, LookupError):
        return source.decode("utf-8", "replace")


def who(store_dir: str) -> str:
    """git's user.name <user.email> where git knows them, else the login name."""
    import getpass
    import subprocess

    found = []
    for key in ("user.name", "user.email"):
        try:
            found.append(subprocess.run(
                ["git", "config", "--get", key], cwd=store_dir, capture_output=True, text=True,
                timeout=10,
            ).stdout.strip())
        except (OSError, subprocess.SubprocessError):
            found.append("")
    name, email = found
    if name and email:
        return f"{name} <{email}>"
    try:
        return name or email or getpass.getuser()
    except (KeyError, OSError):  # no login name for this uid (a container)
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"


def _audit_decision(
    store_dir: str,
    module: str,
    sha: str,
    record: dict[str, Any] | None,
    event: str,
    decision: str,
    how: str,
    problems: list[str],
    **fields: Any,
) -> None:
    from . import _audit

    made = record or {}
    _audit.record(
        store_dir, event, decision, module, names=made.get("names") or [],
        provider=made.get("provider"), model=made.get("model"),
        prompt_sha256=made.get("prompt_sha256"), source_sha256=sha, problems=problems,
        how=how, **fields,
    )


def command(args: argparse.Namespace, settings: Settings) -> int:
    """``autogen-hook accept MODULE... | --all [--yes]``: 0 when every module is accepted,
    1 when one was refused or is missing, 2 when nobody can be asked."""
    from ._store import Store

    store = Store(settings.store_dir)
    lock, trouble = _read_lock(store.directory)
    if trouble:
        print(f"autogen-hook: {trouble}", file=sys.stderr)
        return 1
    modules = args.modules or [m for m in store.modules(settings.namespace) if not _current(store, m, lock)]
    if not modules:
        print("nothing waits to be accepted")
        return 0
    asking = not args.yes and not all(_current(store, m, lock) for m in modules)
    if asking and not interactive():
        print("autogen-hook: not a terminal, so nobody can be asked: pass --yes to accept "
              "without a question (each module accepted is listed)", file=sys.stderr)
        return 2
    status = 0
    for module in modules:
        entry = lock.get(module) or {}
        status = max(status, _accept_one(store, module, settings.namespace, entry, args.yes))
    return status


def _current(store: Store, module: str, lock: dict[str, dict[str, Any]]) -> bool:
    """Whether the stored file of ``module`` is the accepted version."""
    source = _read_bytes(store.path(module))
    sha = hashlib.sha256(source).hexdigest() if source is not None else None
    return (lock.get(module) or {}).get("sha256") == sha


def _read_bytes(path: str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def _accept_one(store: Store, module: str, namespace: str, entry: dict[str, Any], yes: bool) -> int:
    """Show, ask (unless ``yes``) and accept one module; its exit status."""
    problem = module_problem(module, namespace)
    path = store.path(module) if problem is None else ""
    source = _read_bytes(path) if problem is None else None
    if source is None:
        print(f"autogen-hook: {module}: {problem or f'nothing is stored at {path}'}", file=sys.stderr)
        return 1
    sha = hashlib.sha256(source).hexdigest()
    if entry.get("sha256") == sha:
        print(f"{module} is already accepted (by {entry.get('by')} at {entry.get('at')})")
        return 0
    text = _decode(source)
    record = _by_model(store, module, text, sha)
    origin = _origin(record, entry)
    if not yes and not _ask(module, path, text, _base(store.directory, module, entry), origin):
        _audit_decision(store.directory, module, sha, record, "rejected", "refused-review",
                        "command", [origin])
        print(f"{module} is not accepted")
        return 1
    try:
        accepted = accept(store.directory, module, source, "command")
    except StoreError as exc:
        print(f"autogen-hook: {exc}", file=sys.stderr)
        return 1
    print(f"accepted {module}: {path} (sha256 {sha[:12]}...; {origin}) by {accepted['by']}")
    return 0
