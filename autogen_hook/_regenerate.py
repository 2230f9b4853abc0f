"""The one regeneration: ``reload()``, ``%autogen regenerate``, ``--autogen-refresh``,
``autogen-hook regenerate`` (``--until-pass`` and ``warm --tests`` too) and repair all ask for
one through :func:`regenerate`: a
``Request`` whose ``regenerate`` says why, through the whole pipeline, under the module's
lock; the version it replaces is kept in the store's history.

Apart from ``_reload`` (which imports the finder): a repair starts in the stored module's
loader, and must reach this without an import loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from types import FrameType

from . import _runtime
from ._errors import StoreError
from ._pipeline import ensure
from ._request import Request, caller_site, names_from_statement
from ._result import GenerationResult
from ._settings import Settings
from ._store import Store
from ._validate import public_names
from ._validate._examples import Example


def regenerate(
    module: str,
    names: Sequence[str] | None = None,
    hint: str | None = None,
    frame: FrameType | None = None,
    *,
    settings: Settings,
    repair: str | None = None,
    examples: Sequence[Example] = (),
) -> GenerationResult:
    """Write ``module`` anew through the whole pipeline: every public name it defines, or
    ``names`` (which also generate a module not stored yet); ``hint`` says what to change. The
    caller is ``frame``'s code (as for an import), else the first file of the project that
    imports the module; ``settings`` are its project's. A repair says what failed in one line
    (``repair``; ``hint`` is then the whole report), and gives ``examples`` the new version must
    pass besides the module's (the failing call)."""
    existing = Store(settings.store_dir).read(module)
    wanted = tuple(names) if names else tuple(sorted(public_names(existing)))
    if not wanted:
        said = "defines no public name" if existing is not None else f"is not stored in {settings.store_dir}"
        raise StoreError(f"{module} {said}, so there is nothing to regenerate: import it, or say "
                         "which names it needs (names=, or --names)", module=module)
    why = hint.strip() if hint and hint.strip() else "asked for on purpose, without a reason"
    site = caller_site(frame)
    if frame is not None and site is not None:  # the frame's line imports, or uses, the module
        site = replace(site, imports=bool(names_from_statement(frame, module)))
        request = Request(module, wanted, settings.descriptions.get(module), site, regenerate=why)
    else:
        request = _as_imported(settings, module, wanted, why)
    request = replace(request, repair=repair, examples=tuple(e.as_json() for e in examples))
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
