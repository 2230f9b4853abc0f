"""Context for the prompt: what the caller does with the names, and what is installed."""

from __future__ import annotations

import importlib.metadata
import sys
import threading
from dataclasses import dataclass
from functools import lru_cache

from .._request import Request
from ._caller import CallerUse, find_uses

__all__ = ["CallerUse", "Context", "collect"]

MAX_PACKAGES = 80
_TOOLING = frozenset({"pip", "setuptools", "pkg_resources", "wheel", "autogen_hook"})


@dataclass(frozen=True)
class Context:
    uses: tuple[CallerUse, ...] = ()
    packages: tuple[str, ...] = ()


def collect(request: Request) -> Context:
    """Everything the prompt says about the surroundings of ``request``."""
    caller = request.caller
    uses = find_uses(caller.source, request.module, request.names) if caller and caller.source else []
    return Context(uses=tuple(uses), packages=installed_packages())


_scan_lock = threading.Lock()


def installed_packages() -> tuple[str, ...]:
    """Top-level import names of the third-party distributions installed here.

    Scanned once per process; concurrent first callers wait for that one scan.
    """
    with _scan_lock:
        return _scan_packages()


@lru_cache(maxsize=1)
def _scan_packages() -> tuple[str, ...]:
    names: set[str] = set()
    for dist in importlib.metadata.distributions():
        names.update(_top_level_names(dist))
    public = {
        name
        for name in names
        if name.isidentifier()
        and not name.startswith("_")
        and "__" not in name  # compiled helpers such as mypyc's
        and name not in sys.stdlib_module_names
        and name not in _TOOLING
    }
    return tuple(sorted(public, key=str.lower)[:MAX_PACKAGES])


def _top_level_names(dist: importlib.metadata.Distribution) -> set[str]:
    """From top_level.txt, else from the installed files (wheels built by hatch have no such file)."""
    declared = (dist.read_text("top_level.txt") or "").split()
    if declared:
        return set(declared)
    names = set()
    for file in dist.files or ():
        if file.parts and file.parts[0] != ".." and file.suffix in (".py", ".so", ".pyd"):
            names.add(file.parts[0] if len(file.parts) > 1 else file.name.split(".")[0])
    return names
