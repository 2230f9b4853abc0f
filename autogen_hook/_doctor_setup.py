"""``autogen-hook doctor``, the project's side: what this setup would do, and what is off in it.

Beside the sandbox's layers and probes (``_doctor``): the settings in effect and where each
came from, ``AUTOGEN_HOOK_*`` variables that name no setting (typos, which make every import
from the namespace fail), the project root and the marker that made it one, the store and
its size, each provider's credentials (and, asked with ``online``, one cheap request to it),
and namespace conflicts: a real package of the namespace's name, settings tables naming
modules outside the namespace.
"""

from __future__ import annotations

import importlib.machinery
import os
import sys
from dataclasses import dataclass, field
from typing import Any

from . import _runtime, providers
from ._errors import AutogenHookError
from ._inventory import stored_modules
from ._settings import ENV_PREFIX, FIELDS, Settings, resolve, unknown_variables
from ._state import STATE

MARKERS = ("pyproject.toml", ".git")
PROBE_TIMEOUT = 10.0


@dataclass
class Setup:
    """The findings; ``problems`` says in a line each what would go wrong."""

    root: str
    marker: str | None
    settings: Settings | None = None
    unknown: dict[str, str] = field(default_factory=dict)
    store: dict[str, Any] = field(default_factory=dict)
    providers: dict[str, dict[str, Any]] = field(default_factory=dict)
    conflicts: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "project": {"root": self.root, "marker": self.marker, "why": self.why},
            "settings": self.settings_table(),
            "unknown_variables": self.unknown,
            "store": self.store,
            "providers": self.providers,
            "conflicts": self.conflicts,
        }

    @property
    def why(self) -> str:
        if self.marker is None:
            return "no pyproject.toml or .git here or above: the directory itself"
        return f"the nearest directory holding {self.marker}, from where the command was run"

    def settings_table(self) -> dict[str, dict[str, Any]]:
        """Setting -> its value, the kind of source (default, pyproject, env, keyword, CI) and where."""
        if self.settings is None:
            return {}
        table = {}
        for name in FIELDS:
            where = self.settings.sources.get(name)
            table[name] = {"value": _plain(getattr(self.settings, name)), "source": _kind(where), "where": where}
        return table


def inspect(directory: str, root: str, online: bool) -> Setup:
    """Everything but the sandbox, for the project whose root is ``root``."""
    marker = next((m for m in MARKERS if os.path.exists(os.path.join(root, m))), None)
    setup = Setup(root, marker)
    setup.unknown = unknown_variables(os.environ)
    setup.problems += list(setup.unknown.values())
    environ = {k: v for k, v in os.environ.items() if k not in setup.unknown}
    try:
        setup.settings = resolve(root, STATE.overrides, environ)
    except AutogenHookError as exc:  # SettingsError: a bad value, a broken pyproject
        setup.problems.append(f"settings: {exc}")
        return setup
    settings = setup.settings
    setup.store = _store(settings)
    setup.providers = _providers(settings, online)
    for name, found in setup.providers.items():
        if found["problem"] and (online or not settings.offline):
            setup.problems.append(f"provider {name}: {found['problem']}")
    setup.conflicts = _conflicts(settings, directory)
    setup.problems += setup.conflicts
    return setup


def _kind(where: str | None) -> str:
    if where is None:
        return "default"
    if where == "CI":
        return "CI"
    if where.startswith(ENV_PREFIX):
        return "env"
    return "keyword" if where.startswith("install(") else "pyproject"


def _plain(value: object) -> object:
    """A setting's value as JSON has it."""
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _store(settings: Settings) -> dict[str, Any]:
    """Where the store is, its modules, and the bytes of everything in it (caches too)."""
    directory = settings.store_dir
    total = 0
    for folder, _, files in os.walk(directory):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(folder, name))
            except OSError:
                continue
    modules = stored_modules(settings)
    return {"path": directory, "exists": os.path.isdir(directory), "modules": len(modules),
            "module_bytes": sum(m.size for m in modules), "bytes": total}


def _providers(settings: Settings, online: bool) -> dict[str, dict[str, Any]]:
    """Each provider of the chain and of the routes: credentials, and reachability if online."""
    names = [*settings.provider, *(entry for chain in settings.routes.values() for entry in chain)]
    found = {}
    for name in dict.fromkeys(entry.partition(":")[0] for entry in names):
        state: dict[str, Any] = {"credentials": "ok", "reachable": None, "detail": "", "problem": ""}
        try:
            provider = providers.get(name)
            check = getattr(provider, "check", None)
            if check is not None:
                check()
        except AutogenHookError as exc:
            state.update(credentials="missing", problem=str(exc))
            found[name] = state
            continue
        if online:
            state.update(_probe(provider))
        found[name] = state
    return found


def _probe(provider: providers.Provider) -> dict[str, Any]:
    probe = getattr(provider, "probe", None)
    if probe is None:
        return {"reachable": None, "detail": "no cheap request is known for this provider"}
    try:
        detail = _runtime.run(probe(PROBE_TIMEOUT))
    except AutogenHookError as exc:
        return {"reachable": False, "detail": str(exc), "problem": str(exc)}
    return {"reachable": True, "detail": detail}


def _conflicts(settings: Settings, directory: str) -> list[str]:
    namespace = settings.namespace
    found = []
    spec = importlib.machinery.PathFinder.find_spec(namespace, [directory, settings.project_root, *sys.path])
    if spec is not None:
        where = spec.origin or ", ".join(spec.submodule_search_locations or ())
        found.append(
            f"a real package named {namespace!r} is importable ({where}): it wins, and the hook serves "
            "nothing; choose another namespace with the namespace setting"
        )
    tables: dict[str, list[str]] = {
        "descriptions": list(settings.descriptions), "grants": list(settings.grants), "routes": list(settings.routes),
    }
    for table, keys in tables.items():
        for key in keys:
            top = key.split(".")[0]
            if top != namespace and "*" not in top and "?" not in top and "[" not in top:
                found.append(f"the {table} table names {key!r}, outside the namespace {namespace!r}")
    return found
