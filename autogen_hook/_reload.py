"""Regenerating stored modules from a running process: ``reload()``, the ``%autogen regenerate``
magic and the pytest plugin's ``--autogen-refresh``.

:func:`regenerate` is the one place that asks for a regeneration (``autogen-hook regenerate``
calls it too): a ``Request`` whose ``regenerate`` says why, through the whole pipeline, under
the module's lock; the version it replaces is kept in the store's history.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from types import FrameType, ModuleType
from typing import TYPE_CHECKING, Any

from . import _runtime
from ._errors import StoreError
from ._finder import FINDER, StoredLoader, _exec_stored, _project_of, _RootLoader
from ._names import caller_dir, caller_frame
from ._pipeline import ensure
from ._request import Request, caller_site
from ._result import GenerationResult
from ._settings import Settings, project_root_of, resolve
from ._state import STATE
from ._store import Store
from ._validate import public_names

if TYPE_CHECKING:
    from ._repair import Failure


def reload(module: str | ModuleType, *, names: Sequence[str] | None = None, hint: str | None = None) -> ModuleType:
    """Regenerate ``module`` (all its public names, or ``names``; ``hint`` says what to change)
    and run the new source in the module object already imported, as importlib.reload does;
    import it if it was not. Returns the module. A fix a repair stored in this process, not
    running yet, is what runs instead, with nothing asked (unless ``names`` or ``hint`` ask)."""
    name = module if isinstance(module, str) else module.__name__
    if name in STATE.fixed and not names and not hint:
        path = Store(settings_for(name).store_dir).path(name)
    else:
        path = regenerate(name, names, hint, caller_frame()).path
    STATE.fixed.discard(name)
    loaded = sys.modules.get(name)
    if loaded is None:
        import importlib

        return importlib.import_module(name)
    _exec_stored(loaded, path, settings_for(name))
    return loaded


def regenerate(
    module: str,
    names: Sequence[str] | None = None,
    hint: str | None = None,
    frame: FrameType | None = None,
    *,
    settings: Settings | None = None,
    failure: Failure | None = None,
) -> GenerationResult:
    """Write ``module`` anew through the whole pipeline: every public name it defines, or
    ``names`` (which also generate a module not stored yet); ``hint`` says what to change. The
    caller is ``frame``'s code (as for an import), else the first file of the project that
    imports the module. A repair's ``failure`` is the reason, and its failing call one more
    example the new version must pass."""
    settings = settings or settings_for(module)
    existing = Store(settings.store_dir).read(module)
    wanted = tuple(names) if names else tuple(sorted(public_names(existing)))
    if not wanted:
        said = "defines no public name" if existing is not None else f"is not stored in {settings.store_dir}"
        raise StoreError(f"{module} {said}, so there is nothing to regenerate: import it, or say "
                         "which names it needs (names=, or --names)", module=module)
    why = hint.strip() if hint and hint.strip() else "asked for on purpose, without a reason"
    if failure is not None:
        why = failure.reason(hint)
    site = caller_site(frame)
    if site is not None:
        site = replace(site, imports=failure is None)  # a repair's caller uses the module: it imports nothing
        request = Request(module, wanted, settings.descriptions.get(module), site, regenerate=why)
    else:
        request = _as_imported(settings, module, wanted, why)
    if failure is not None:
        request = replace(request, repair=failure.summary, examples=failure.examples)
    return _runtime.run(ensure(request, settings))


def _as_imported(settings: Settings, module: str, names: tuple[str, ...], why: str) -> Request:
    """The regeneration an import of the project's would ask for, its file the caller (none
    when nothing in the project imports the module)."""
    from ._warm import request_for
    from .context._usage import scan

    uses = scan(settings.project_root, settings.namespace, (settings.store_dir,)).by_module().get(module)
    if uses:
        return request_for(settings, module, names, uses[0], why)
    return Request(module, names, settings.descriptions.get(module), regenerate=why)


def settings_for(module: str) -> Settings:
    """The settings of the project ``module`` was (or is being) imported for, else the caller's."""
    if module in STATE.projects:
        return FINDER.settings_for(module)
    top = module.partition(".")[0]
    root = _project_of(module, top) if top in STATE.projects else project_root_of(caller_dir())
    return resolve(root, STATE.overrides)


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
            refresher.refresh(name, lambda: _exec_stored(
                module, regenerate(name, frame=caller_frame()).path, settings_for(name)))

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
            spec.loader = _RefreshingLoader(spec.loader, self)
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

    def __init__(self, stored: StoredLoader, refresher: _Refresher) -> None:
        super().__init__(stored.name, stored.path, stored.review, stored.store, stored.repair)  # review applies to the new source
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
