"""What generated code may do for one module: the project's grants and declared dependencies.

A grant entry names a capability (``filesystem``, ``network``, ...; see
``_validate/_capabilities.py``) or a module or dotted name (``httpx``,
``subprocess``, ``os.system``), which lifts every rule for that name. Entries come
from the ``allow`` setting (every module) and the ``grants`` table (module globs;
every matching glob adds its entries). Third-party packages are importable when
the project's pyproject declares them (``[project] dependencies``, or Poetry's
``[tool.poetry.dependencies]``) or an entry names them; development-only
dependencies (optional extras, dependency groups) are not offered, and neither
are the project's own modules: what they do, the policy cannot see.
"""

from __future__ import annotations

import fnmatch
import importlib.metadata
import os
import re
import sys

from ._errors import SettingsError
from ._settings import Settings
from ._state import cached
from ._validate import Grants
from ._validate._capabilities import CAPABILITIES

_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def grants_for(module: str, settings: Settings) -> Grants:
    """The grants of ``module``: ``allow``, every matching ``grants`` glob, declared packages."""
    entries: list[tuple[str, str]] = [(entry, "allow") for entry in settings.allow]
    for pattern, names in settings.grants.items():
        if fnmatch.fnmatchcase(module, pattern):
            entries += [(entry, f"grants {pattern!r}") for entry in names]
    for entry, where in entries:
        _check_entry(entry, where)
    granted = [entry for entry, _ in entries]
    return Grants(
        capabilities=frozenset(n for n in granted if n in CAPABILITIES),
        names=frozenset(n for n in granted if n not in CAPABILITIES),
        packages=frozenset(declared_packages(settings.project_root)),
    )


def packages_for(module: str, settings: Settings) -> tuple[str, ...]:
    """Third-party packages the prompt offers: declared ones and those granted by name."""
    grants = grants_for(module, settings)
    named = {
        n.partition(".")[0]
        for n in grants.names
        if n.partition(".")[0] not in sys.stdlib_module_names
    }
    return tuple(sorted(grants.packages | {n for n in named if _installed(n)}, key=str.lower))


def _check_entry(entry: str, where: str) -> None:
    if entry in CAPABILITIES:
        return
    if not all(part.isidentifier() for part in entry.split(".")):
        raise SettingsError(
            f"{where}: {entry!r} is neither a capability nor a module name; capabilities: "
            + ", ".join(CAPABILITIES)
        )
    top = entry.partition(".")[0]
    if top not in sys.stdlib_module_names and not _installed(top):
        import difflib

        close = difflib.get_close_matches(entry, list(CAPABILITIES), n=1, cutoff=0.7)
        if close:
            raise SettingsError(
                f"{where}: unknown capability {entry!r}; did you mean {close[0]!r}? "
                "Capabilities: " + ", ".join(CAPABILITIES)
            )


def _installed(top: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        return False


def declared_packages(project_root: str) -> tuple[str, ...]:
    """Import names of the installed distributions the project's pyproject depends on."""
    path = os.path.join(project_root, "pyproject.toml")
    try:
        stat = os.stat(path)
    except OSError:
        return ()
    return _declared(path, stat.st_mtime_ns, stat.st_size)


@cached(maxsize=32)
def _declared(path: str, mtime: int, size: int) -> tuple[str, ...]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    try:
        with open(path, "rb") as f:
            document = tomllib.load(f)
    except (OSError, ValueError):
        return ()  # a broken pyproject is reported by the settings
    wanted = {_normalise(d) for d in _requirements(document)}
    names = {
        top
        for top, distributions in _import_names().items()
        if any(_normalise(d) in wanted for d in distributions)
    }
    return tuple(sorted(names, key=str.lower))


def _requirements(document: dict[str, object]) -> list[str]:
    project = document.get("project")
    found: list[str] = []
    if isinstance(project, dict) and isinstance(project.get("dependencies"), list):
        found += [r for r in project["dependencies"] if isinstance(r, str)]
    tool = document.get("tool")
    poetry = tool.get("poetry") if isinstance(tool, dict) else None
    if isinstance(poetry, dict) and isinstance(poetry.get("dependencies"), dict):
        found += [name for name in poetry["dependencies"] if name.lower() != "python"]
    return [m.group(1) for m in map(_REQUIREMENT.match, found) if m]


def _normalise(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


@cached(maxsize=1)
def _import_names() -> dict[str, list[str]]:
    """Top-level import name -> the installed distributions that provide it."""
    return {k: list(v) for k, v in importlib.metadata.packages_distributions().items()}
