"""Commands on what the store holds: list, show, history, diff, rollback, rm, clear, mark-edited."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from ._common import (
    CommandFailed,
    command,
    confirm,
    module_name,
    print_json,
    settings_of,
    size,
    stored,
    table,
    under_lock,
    usage_error,
)


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    command(commands, "list", _list, "list the stored modules and their state",
            "List every stored module: its names, the provider and model that wrote it, when, its "
            "state (generated, edited by hand, stale, unaccepted when review is on) and size.")
    show = command(commands, "show", _show, "print a stored module's source (or its record)",
                   "Print MODULE's stored source, syntax-highlighted on a terminal; --meta prints its "
                   "record instead: attempts, problems, tokens, seconds, prompt digest.")
    show.add_argument("module", help="the module, e.g. autogen.pricing")
    show.add_argument("--meta", action="store_true", help="print the module's metadata instead of its source")
    history = command(commands, "history", _history, "list the earlier versions of a module",
                      "List every version of MODULE that a generation, a regeneration, an extension, "
                      "a rollback or rm replaced, with its record and why it was replaced.")
    history.add_argument("module", help="the module, e.g. autogen.pricing")
    diff = command(commands, "diff", _diff, "show what changed between two versions of a module",
                   "A unified diff of MODULE between version V1 and V2 (numbers from `history`, or "
                   "'current'). Without versions: the last version kept against the current one; "
                   "with one: that version against the current one.", json_output=False)
    diff.add_argument("module", help="the module, e.g. autogen.pricing")
    diff.add_argument("v1", nargs="?", help="the older version (default: the last one kept)")
    diff.add_argument("v2", nargs="?", help="the newer version (default: current)")
    rollback = command(commands, "rollback", _rollback, "restore an earlier version of a module",
                       "Restore VERSION of MODULE (default: the last one kept) with its record. The "
                       "version it replaces is kept in the history, so a rollback can be undone too.")
    rollback.add_argument("module", help="the module, e.g. autogen.pricing")
    rollback.add_argument("version", nargs="?", help="the version to restore (default: the last one kept)")
    rm = command(commands, "rm", _rm, "remove a stored module",
                 "Remove MODULE's file, bytecode and record; the removed version stays in the history "
                 "(`autogen-hook rollback MODULE` brings it back). Asks first on a terminal; elsewhere "
                 "refuses without --yes.")
    rm.add_argument("module", help="the module, e.g. autogen.pricing")
    rm.add_argument("--yes", "-y", action="store_true", help="do not ask")
    clear = command(commands, "clear", _clear, "remove every stored module, with records and history",
                    "Empty the store: every module, its record and history, the stubs and the caches "
                    "(the audit log and accepted.json stay). Asks first on a terminal; elsewhere "
                    "refuses without --yes.")
    clear.add_argument("--yes", "-y", action="store_true", help="do not ask")
    edited = command(commands, "mark-edited", _mark_edited, "record that a module was edited by hand on purpose",
                     "Record MODULE's current source as edited by hand, so that `check` accepts a hash "
                     "that no longer matches what was generated (or a module written by hand).")
    edited.add_argument("module", help="the module, e.g. autogen.pricing")


def _list(args: argparse.Namespace) -> int:
    from .._inventory import ORIGINS, stored_modules
    from .._validate import public_names

    settings = settings_of(args)
    rows: list[dict[str, Any]] = []
    for module in stored_modules(settings):
        record = module.metadata or {}
        rows.append({
            "module": module.module, "names": sorted(public_names(module.source)),
            "provider": record.get("provider"), "model": record.get("model"),
            "written": record.get("written_at"), "state": module.state(settings),
            "size": module.size, "path": module.path,
        })
    if args.json:
        print_json(rows)
        return 0
    if not rows:
        print(f"no modules stored in {settings.store_dir}")
        return 0
    print(table(
        ("module", "names", "provider", "model", "written", "state", "size"),
        [(r["module"], ", ".join(r["names"]), r["provider"] or "-", r["model"] or "-",
          (r["written"] or "-")[:10], _state(r["state"], ORIGINS), size(r["size"])) for r in rows],
    ))
    return 0


def _state(state: dict[str, Any], origins: dict[str, str]) -> str:
    words = [origins[state["origin"]]]
    if state["stale"]:
        words.append("stale")
    if state["accepted"] is False:
        words.append("unaccepted")
    return ", ".join(words)


def _show(args: argparse.Namespace) -> int:
    from ._highlight import highlight, wanted

    settings = settings_of(args)
    module = stored(settings, module_name(args, settings))
    if args.json:
        print_json({"module": module.module, "path": module.path, "source": module.source,
                    "metadata": module.metadata, "state": module.state(settings)})
    elif args.meta:
        _print_record(module.metadata, module.path)
    else:
        sys.stdout.write(highlight(module.source) if wanted(sys.stdout) else module.source)
    return 0


def _print_record(record: dict[str, Any] | None, path: str) -> None:
    if record is None:
        print(f"no record: nothing says who wrote {path}")
        return
    for key in sorted(record):
        value = record[key]
        if key == "problems" and value:
            print("problems:")
            for n, problem in enumerate(value, 1):
                print(f"  attempt {n}: " + str(problem).replace("\n", "\n    "))
        else:
            print(f"{key}: {value}")


def _history(args: argparse.Namespace) -> int:
    from .. import _history as history

    settings = settings_of(args)
    module = module_name(args, settings)
    versions = history.versions(settings.store_dir, module)
    current = _current(settings, module)
    if not versions and current is None:
        raise CommandFailed(f"{module} is neither stored nor has a history in {settings.store_dir}")
    rows = [_version_json(v) for v in versions]
    if args.json:
        print_json({"module": module, "current": current, "versions": rows})
        return 0
    lines = [(r["version"], (r["written_at"] or "-")[:19], _by(r), (r["replaced_at"] or "")[:19], r["replaced_because"])
             for r in rows]
    if current is not None:
        restored = current["restored_from"]
        lines.append(("current", (current["written_at"] or "-")[:19], _by(current), "",
                      f"restored from version {restored}" if restored else ""))
    print(table(("version", "written", "by", "replaced", "why"), lines, widest=70))
    return 0


def _current(settings: Any, module: str) -> dict[str, Any] | None:
    from .._inventory import loaded
    from .._store import Store

    found = loaded(Store(settings.store_dir), module)
    if found is None:
        return None
    record = found.metadata or {}
    return {"path": found.path, "sha256": found.sha256, "origin": found.origin, "written_at": record.get("written_at"),
            "provider": record.get("provider"), "model": record.get("model"), "restored_from": record.get("restored_from")}


def _version_json(version: Any) -> dict[str, Any]:
    record = version.metadata or {}
    return {"version": version.number, "path": version.path, "sha256": version.record.get("sha256"),
            "written_at": record.get("written_at"), "provider": record.get("provider"), "model": record.get("model"),
            "replaced_at": version.record.get("replaced_at"), "replaced_because": version.record.get("replaced_because")}


def _by(row: dict[str, Any]) -> str:
    if row.get("provider"):
        return f"{row['provider']}, {row['model']}"
    return "by hand" if row.get("origin") in ("edited", "unmarked", "unrecorded") or not row.get("written_at") else "-"


def _diff(args: argparse.Namespace) -> int:
    import difflib

    from ._highlight import wanted

    settings = settings_of(args)
    module = module_name(args, settings)
    old_label, old = _version_text(args, settings, module, args.v1 or "last")
    new_label, new = _version_text(args, settings, module, args.v2 or "current")
    lines = difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                 f"{module} {old_label}", f"{module} {new_label}")
    colour = wanted(sys.stdout)
    for line in lines:
        line = line if line.endswith("\n") else line + "\n"
        if colour and not line.startswith(("+++", "---")) and line[:1] in "+-@":
            code = {"+": "32", "-": "31", "@": "36"}[line[0]]
            line = f"\x1b[{code}m{line.rstrip(chr(10))}\x1b[0m\n"
        sys.stdout.write(line)
    return 0


def _version_text(args: argparse.Namespace, settings: Any, module: str, which: str) -> tuple[str, str]:
    """(label, source) of version ``which``: a number, 'last' (the newest kept) or 'current'."""
    from .._store import Store

    if which == "current":
        source = Store(settings.store_dir).read(module)
        if source is None:
            raise CommandFailed(f"{module} is not stored now; compare two versions from `autogen-hook history {module}`")
        return "(current)", source
    version = _version(args, settings.store_dir, module, None if which == "last" else which)
    return f"version {version.number}", version.source()


def _version(args: argparse.Namespace, store_dir: str, module: str, which: str | None) -> Any:
    from .. import _history as history

    versions = history.versions(store_dir, module)
    if not versions:
        raise CommandFailed(f"no earlier version of {module} is kept")
    if which is None:
        return versions[-1]
    if not which.isdecimal():
        usage_error(args, f"version: expected a number from `autogen-hook history {module}` or 'current', got {which!r}")
    found = [v for v in versions if v.number == int(which)]
    if not found:
        raise CommandFailed(f"{module} has no version {which}; kept: {', '.join(str(v.number) for v in versions)}")
    return found[0]


def _rollback(args: argparse.Namespace) -> int:
    from .. import _history as history
    from .._store import Store

    settings = settings_of(args)
    module = module_name(args, settings)
    store = Store(settings.store_dir)
    version = _version(args, settings.store_dir, module, args.version)
    path = under_lock(store, module, lambda: store.restore(module, version))
    kept = history.versions(settings.store_dir, module)[-1].number
    if args.json:
        print_json({"module": module, "restored": version.number, "path": path, "replaced_version": kept})
    else:
        print(f"restored version {version.number} of {module} to {os.path.relpath(path)}; the version it "
              f"replaced is kept as version {kept} (autogen-hook rollback {module} {kept} undoes this)")
    return 0


def _rm(args: argparse.Namespace) -> int:
    from .. import _history as history
    from .._store import Store

    settings = settings_of(args)
    module = stored(settings, module_name(args, settings))
    confirm(args, f"remove {module.module} ({os.path.relpath(module.path)}) and its record?")
    store = Store(settings.store_dir)
    under_lock(store, module.module, lambda: store.remove(module.module, "removed (autogen-hook rm)"))
    kept = history.versions(settings.store_dir, module.module)[-1].number
    if args.json:
        print_json({"removed": [module.module], "kept_as": kept})
    else:
        print(f"removed {module.module}; it is kept as version {kept} (autogen-hook rollback {module.module} restores it)")
    return 0


def _clear(args: argparse.Namespace) -> int:
    import shutil

    from .._inventory import stored_modules

    settings = settings_of(args)
    directory = settings.store_dir
    modules = [m.module for m in stored_modules(settings)]
    if not os.path.isdir(directory):
        raise CommandFailed(f"there is no store at {directory}")
    confirm(args, f"remove all {len(modules)} modules of {directory}, with their records and history?")
    for name in os.listdir(directory):
        path = os.path.join(directory, name)
        if name in _CLEAR_KEEPS:
            continue
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)
    if args.json:
        print_json({"removed": modules})
    else:
        print(f"removed {len(modules)} modules from {directory}")
    return 0


_CLEAR_KEEPS = (".gitignore", "accepted.json", "audit.jsonl", "audit.1.jsonl")  # review's; the audit log (_audit.FILE, ROTATED)


def _mark_edited(args: argparse.Namespace) -> int:
    from .._inventory import mark_edited
    from .._review import who
    from .._store import Store

    settings = settings_of(args)
    module = stored(settings, module_name(args, settings))
    if module.origin == "generated":
        raise CommandFailed(f"{module.module} is exactly as it was generated: there is no edit to record")
    store = Store(settings.store_dir)
    record = under_lock(store, module.module, lambda: mark_edited(store, module, who(settings.store_dir)))
    if args.json:
        print_json({"module": module.module, "edited": record["edited"]})
    else:
        print(f"recorded {module.module} ({module.sha256[:12]}) as edited by hand; check accepts it")
    return 0
