"""Generating what a codebase uses before it runs (``autogen-hook warm``).

Each module is one task, and all run at once: the pipeline bounds provider requests by the
``concurrency`` setting and takes each module's lock, as imports do. Within a module, the
files that use it go one after another, each as one request for the names that file uses
(as its import statement would ask), with that file as the caller: the first generates
the module, the next extend it with what they add, or find it all stored. A stale module
(``--stale``) is first regenerated whole, with every name it defines and its callers use.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass

from ._errors import AutogenHookError
from ._pipeline import ensure
from ._request import CallerSite, Request
from ._settings import Settings
from ._store import Store
from ._validate import public_names
from .context._usage import Use


@dataclass(frozen=True)
class Warmed:
    """What warming one module did."""

    module: str
    files: tuple[str, ...]  # the files that use it
    names: tuple[str, ...]  # the names they use
    outcome: str  # "generated", "stored" (all there already), "refreshed" or "failed"
    detail: str = ""  # why it failed, or why it was refreshed


async def warm(
    settings: Settings, uses: dict[str, list[Use]], stale: dict[str, str], done: Callable[[Warmed], None]
) -> list[Warmed]:
    """Make the store hold every name of ``uses`` (module -> the files' uses), regenerating the
    modules of ``stale`` (module -> why) first; ``done`` hears of each module as it ends."""
    return list(await asyncio.gather(*(_module(settings, m, u, stale.get(m), done) for m, u in uses.items())))


async def _module(
    settings: Settings, module: str, uses: list[Use], stale: str | None, done: Callable[[Warmed], None]
) -> Warmed:
    names = tuple(dict.fromkeys(n for use in uses for n in use.used))
    files = tuple(dict.fromkeys(use.path for use in uses))
    outcome, detail = "stored", ""
    try:
        if stale is not None:
            await ensure(_refresh(settings, module, names, uses[0], stale), settings)
            outcome, detail = "refreshed", stale
        for use in uses:
            if use.used:
                result = await ensure(request_for(settings, module, use.used, use), settings)
                if not result.from_store and outcome == "stored":
                    outcome = "generated"
    except Exception as exc:  # noqa: BLE001 - one module's failure is reported; the others go on
        outcome, detail = "failed", failure(exc)
    warmed = Warmed(module, files, names, outcome, detail)
    done(warmed)
    return warmed


def request_for(
    settings: Settings, module: str, names: tuple[str, ...], use: Use, regenerate: str | None = None
) -> Request:
    """The request an import in ``use``'s file would make: its names, that file as the caller."""
    path = os.path.join(settings.project_root, use.path)
    with open(path, "rb") as f:
        source = importlib.util.decode_source(f.read())
    caller = CallerSite(path, use.line, use.statement, source)
    return Request(module, names, settings.descriptions.get(module), caller, regenerate=regenerate)


def _refresh(settings: Settings, module: str, names: tuple[str, ...], use: Use, why: str) -> Request:
    defined = public_names(Store(settings.store_dir).read(module))
    everything = tuple(dict.fromkeys([*sorted(defined), *names]))
    return request_for(settings, module, everything, use, regenerate=f"it is stale: {why}")


def failure(exc: BaseException) -> str:
    """The reason a generation failed, on one line."""
    text = str(exc).strip().splitlines()
    reason = text[0] if text else ""
    problems = getattr(exc, "problems", None)  # ValidationFailedError: what the last attempt met
    if problems:
        reason = f"{len(problems)} attempt(s) failed validation, the last: {str(problems[-1]).splitlines()[0]}"
    if isinstance(exc, AutogenHookError):
        return f"{type(exc).__name__}: {reason}"
    return f"{type(exc).__name__} (a bug of autogen-hook?): {reason}"
