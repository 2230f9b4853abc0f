"""Regenerating stored modules from a running process: ``reload()``, the ``%autogen regenerate``
magic and the pytest plugin's ``--autogen-refresh``.

:func:`regenerate` is the one place that asks for a regeneration. Until the workflow's
regeneration (a ``Request`` that rewrites what is stored, the replaced version kept in the
store's history) is on this branch, it generates the module afresh in a scratch store, with
the stored source and the hint as context, and writes the result to the real store under the
module's lock: a store whose writes keep history keeps the old version then.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from types import FrameType, ModuleType
from typing import Any

from . import _runtime
from ._errors import NotGeneratedError, StoreError
from ._finder import FINDER, StoredLoader, _exec_stored, _project_of, _RootLoader
from ._names import caller_dir, caller_frame, generatable
from ._pipeline import ensure
from ._request import Request, caller_site
from ._result import GenerationResult
from ._settings import Settings, project_root_of, resolve
from ._state import STATE
from ._store import Store, strip_header


def reload(module: str | ModuleType, *, names: Sequence[str] | None = None, hint: str | None = None) -> ModuleType:
    """Regenerate ``module`` (all its public names, or ``names``; ``hint`` says what to change)
    and run the new source in the module object already imported, as importlib.reload does;
    import it if it was not. Returns the module."""
    name = module if isinstance(module, str) else module.__name__
    result = regenerate(name, names, hint, caller_frame())
    loaded = sys.modules.get(name)
    if loaded is None:
        import importlib

        return importlib.import_module(name)
    _exec_stored(loaded, result.path)
    return loaded


def regenerate(
    module: str, names: Sequence[str] | None = None, hint: str | None = None, frame: FrameType | None = None
) -> GenerationResult:
    """Write ``module`` anew through the whole pipeline; ``frame`` is the caller (its code is
    the context, as for an import)."""
    settings = settings_for(module)
    store = Store(settings.store_dir)
    existing = store.read(module)
    if existing is None:
        raise StoreError(f"{module} is not stored in {settings.store_dir}: import it to generate it", module=module)
    if settings.offline:
        raise NotGeneratedError(f"{module} cannot be regenerated while offline mode is on (AUTOGEN_HOOK_OFFLINE)",
                                module=module)
    wanted = tuple(names) if names else _public_names(existing)
    why = f"Rewrite this module. {hint.strip()}" if hint and hint.strip() else "Rewrite this module."
    request = Request(
        module=module,
        names=wanted,
        description=settings.descriptions.get(module),
        caller=caller_site(frame),
        extra_context=f"{why}\nIts current version:\n```python\n{strip_header(existing).rstrip()}\n```",
    )
    with tempfile.TemporaryDirectory(prefix="autogen-hook-regenerate-") as scratch:
        fresh = copy.copy(settings)
        fresh.cache_dir = scratch
        result = _runtime.run(ensure(request, fresh))
        metadata = Store(scratch).metadata(module) or {}
    path = _runtime.run(_write(store, module, result.source, metadata))
    return replace(result, path=path)


async def _write(store: Store, module: str, source: str, metadata: dict[str, Any]) -> str:
    async with store.lock(module):
        return store.write(module, source, metadata)


def settings_for(module: str) -> Settings:
    """The settings of the project ``module`` was (or is being) imported for, else the caller's."""
    if module in STATE.projects:
        return FINDER.settings_for(module)
    top = module.partition(".")[0]
    root = _project_of(module, top) if top in STATE.projects else project_root_of(caller_dir())
    return resolve(root, STATE.overrides)


def _public_names(source: str) -> tuple[str, ...]:
    """The public names ``source`` defines at its top level (not the ones it imports)."""
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return ()
    found: list[str] = []
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            found += [t.id for t in targets if isinstance(t, ast.Name)]
    return tuple(n for n in dict.fromkeys(found) if generatable(n))


def refresh_on_import(session: str) -> Callable[[], None]:
    """Regenerate each stored namespace module once in the session ``session`` names, when it
    is first imported (already imported ones at once); return what ends it. The processes of a
    session (xdist workers) share their claims, so a module is regenerated by one of them and
    the others wait for it."""
    refresher = _Refresher(os.path.join(tempfile.gettempdir(), f"autogen-hook-refresh-{session}"))
    os.makedirs(refresher.claims, exist_ok=True)
    index = sys.meta_path.index(FINDER) if FINDER in sys.meta_path else len(sys.meta_path)
    sys.meta_path.insert(index, refresher)
    for name, module in list(sys.modules.items()):
        if getattr(module, "__file__", None) and refresher.ours(name):
            refresher.refresh(name, lambda: _exec_stored(module, regenerate(name, frame=caller_frame()).path))

    def end() -> None:
        if refresher in sys.meta_path:
            sys.meta_path.remove(refresher)
        if refresher.owner == os.getpid():
            shutil.rmtree(refresher.claims, ignore_errors=True)

    return end


class _Refresher:
    """A finder asked just before the hook's: for a stored module it hands out the hook's spec
    with a loader that regenerates the module first. Not in ``find_spec`` itself, which Python
    calls holding the global import lock: the pipeline's threads import modules too."""

    def __init__(self, claims: str) -> None:
        self.claims = claims
        self.owner = os.getpid()  # the first process: it removes the claims at the end

    def find_spec(self, name: str, path: object = None, target: object = None) -> Any:
        if FINDER not in sys.meta_path or not self.ours(name):  # uninstall() ends refreshing too
            return None
        spec = FINDER.find_spec(name)
        if spec is not None and spec.has_location:  # stored: regenerate it before it runs
            spec.loader = _RefreshingLoader(name, spec.origin, self)
        return spec

    def refresh(self, name: str, action: Callable[[], object]) -> None:
        """Run ``action`` (a regeneration) if this process claims ``name``."""
        mark = os.path.join(self.claims, hashlib.sha256(name.encode()).hexdigest()[:24])
        if not self._claim(mark):
            return
        try:
            action()
        finally:
            with open(mark + ".done", "w"):
                pass

    @staticmethod
    def ours(name: str) -> bool:
        """A module inside a namespace the hook serves in this process."""
        top, dot, _ = name.partition(".")
        root = sys.modules.get(top)
        return bool(dot) and root is not None and getattr(root.__spec__, "loader", None) is _RootLoader

    def _claim(self, mark: str) -> bool:
        """Whether this process regenerates the module of ``mark``; otherwise, once the one
        that claimed it has done so (or died), False."""
        try:
            fd = os.open(mark + ".claim", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            self._wait(mark)
            return False
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        return True

    @staticmethod
    def _wait(mark: str) -> None:
        while not os.path.exists(mark + ".done") and _alive(mark + ".claim"):
            time.sleep(0.05)


class _RefreshingLoader(StoredLoader):
    """The stored module's loader, regenerating it (once in the session) before running it."""

    def __init__(self, name: str, path: str, refresher: _Refresher) -> None:
        super().__init__(name, path)
        self.refresher = refresher

    def exec_module(self, module: ModuleType) -> None:
        frame = caller_frame()
        self.refresher.refresh(self.name, lambda: regenerate(self.name, frame=frame))
        super().exec_module(module)


def _alive(claim: str) -> bool:
    """The process that wrote ``claim`` still runs (a claim being written counts as alive)."""
    try:
        with open(claim) as f:
            pid = int(f.read() or 0)
        if pid:
            os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return True
