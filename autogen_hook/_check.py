"""``autogen-hook check``: whether the store serves the codebase as committed, with no model.

Errors: a name the codebase uses that the store lacks; a stored module that no longer passes
validation (the static checks, then the import check in the sandbox, with the grants the
project gives it now) or its examples (those recorded when it was generated and those the
project gives now, run again in the sandbox by ``_recheck``); a source whose hash matches
neither its record nor an edit marked with ``autogen-hook mark-edited``. Warnings (errors with ``strict``): a stale module (see
``_freshness``), a stored module nothing uses any more. Each finding says which command
fixes it. No provider is contacted and nothing is written but the import check's bytecode.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Iterable, Sequence
from dataclasses import asdict, dataclass

from . import _runtime
from ._errors import ExampleError
from ._grants import grants_for
from ._inventory import StoredModule, stored_modules
from ._recheck import check_examples
from ._settings import Settings
from ._spec_sources import module_examples
from ._validate import Problem, Spec, defined_names, revalidate
from .context._usage import Scan, Use, scan


@dataclass(frozen=True)
class Finding:
    """One thing wrong, and the command that puts it right."""

    level: str  # "error" or "warning"
    module: str
    kind: str  # missing, invalid, examples, unmarked, unrecorded, stale, unused
    message: str
    fix: str

    def as_json(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class Report:
    findings: tuple[Finding, ...]
    stored: int  # modules in the store
    scanned: Scan

    @property
    def ok(self) -> bool:
        return not any(f.level == "error" for f in self.findings)


def check(settings: Settings, strict: bool = False, paths: Sequence[str] = ()) -> Report:
    """Check the store against the codebase (``paths`` only, if given: then nothing is unused)."""
    scanned = scan(settings.project_root, settings.namespace, (settings.store_dir,), paths)
    stored = {m.module: m for m in stored_modules(settings)}
    uses = scanned.by_module()
    warning = "error" if strict else "warning"
    findings = [
        *_unresolved(uses, stored),
        *_records(stored.values()),
        *_invalid(settings, stored.values(), uses),
        *_failed_examples(settings, stored.values()),
        *_stale(settings, stored.values(), warning),
        *([] if paths else _unused(uses, stored, warning)),
    ]
    return Report(tuple(findings), len(stored), scanned)


def _unresolved(uses: dict[str, list[Use]], stored: dict[str, StoredModule]) -> list[Finding]:
    found = []
    for module, file_uses in uses.items():
        have = defined_names(stored[module].source) if module in stored else set()
        lacking = [(use, [n for n in use.used if n not in have]) for use in file_uses]
        lacking = [(use, names) for use, names in lacking if names]
        if not lacking:
            continue
        where = "; ".join(f"{use.path}:{dict(use.names)[names[0]]} uses {', '.join(names)}" for use, names in lacking)
        what = "is not stored" if module not in stored else "lacks names the codebase uses"
        files = " ".join(dict.fromkeys(use.path for use, _ in lacking))
        found.append(Finding("error", module, "missing", f"{module} {what} ({where})", f"autogen-hook warm {files}"))
    return found


def _records(stored: Iterable[StoredModule]) -> list[Finding]:
    found = []
    for module in stored:
        relative = os.path.relpath(module.path)
        if module.origin == "unmarked":
            found.append(Finding(
                "error", module.module, "unmarked",
                f"{module.module}: its source does not match its record (edited by hand since it was stored?)",
                f"review the edit, then autogen-hook mark-edited {module.module}; or undo it "
                f"(git checkout -- {relative}, or autogen-hook rollback {module.module})",
            ))
        elif module.origin == "unrecorded":
            found.append(Finding(
                "error", module.module, "unrecorded",
                f"{module.module}: no record says who wrote it ({relative} has no .meta record)",
                f"autogen-hook mark-edited {module.module} (written by hand), or autogen-hook regenerate {module.module}",
            ))
    return found


def _invalid(settings: Settings, stored: Iterable[StoredModule], uses: dict[str, list[Use]]) -> list[Finding]:
    """Every stored module validated again, all at once (the import checks run side by side)."""
    modules = list(stored)
    specs = [_spec(settings, m, uses.get(m.module, [])) for m in modules]
    problems = _runtime.run(_gather([revalidate(m.source, spec) for m, spec in zip(modules, specs)]))
    return [
        Finding("error", m.module, "invalid", f"{m.module} no longer passes validation: {problem}",
                f"autogen-hook regenerate {m.module} (or fix {os.path.relpath(m.path)}, or grant what it needs)")
        for m, problem in zip(modules, problems) if problem is not None
    ]


def _spec(settings: Settings, stored: StoredModule, uses: list[Use]) -> Spec:
    have = defined_names(stored.source)
    names = tuple(dict.fromkeys(n for use in uses for n in use.used if n in have))
    return Spec(stored.module, names, frozenset(), stored.path, settings.namespace, grants_for(stored.module, settings))


async def _gather(checks: list[Awaitable[None]]) -> list[str | None]:
    """The problem each check raised (None: it passed)."""

    async def one(check: Awaitable[None]) -> str | None:
        try:
            await check
        except Problem as problem:
            return str(problem)
        return None

    return list(await asyncio.gather(*(one(c) for c in checks)))


def _failed_examples(settings: Settings, stored: Iterable[StoredModule]) -> list[Finding]:
    """Each module's recorded and configured examples run again in the sandbox, side by side
    (``_recheck``); modules with none are not run twice."""

    async def every() -> list[Finding | None]:
        return list(await asyncio.gather(*(asyncio.to_thread(_examples_of, settings, m) for m in stored)))

    return [f for f in _runtime.run(every()) if f is not None]


def _examples_of(settings: Settings, stored: StoredModule) -> Finding | None:
    module = stored.module
    try:
        if not (stored.metadata or {}).get("examples") and not module_examples(
            module, settings, settings.descriptions.get(module)
        ):
            return None
        checked = check_examples(module, settings.project_root)
    except ExampleError as exc:
        return Finding("error", module, "examples", f"{module}: an example cannot be evaluated: {exc}",
                       "fix the example (the examples setting, describe(examples=...), or the description's doctests)")
    if checked.passed:
        return None
    return Finding("error", module, "examples", f"{module} fails its examples: {checked.problem}",
                   f"autogen-hook regenerate {module} (or fix {os.path.relpath(stored.path)})")


def _stale(settings: Settings, stored: Iterable[StoredModule], level: str) -> list[Finding]:
    return [
        Finding(level, m.module, "stale", f"{m.module} is stale: {'; '.join(reasons)}",
                f"autogen-hook regenerate {m.module} (or autogen-hook warm --stale)")
        for m in stored
        if (reasons := m.stale(settings))
    ]


def _unused(uses: dict[str, list[Use]], stored: dict[str, StoredModule], level: str) -> list[Finding]:
    """Stored modules no file uses, nor any module inside them (``autogen.a`` of ``autogen.a.b``)."""
    used = {".".join(m.split(".")[:i]) for m in uses for i in range(2, m.count(".") + 2)}
    return [
        Finding(level, module, "unused", f"{module} is stored but nothing in the codebase imports it",
                f"autogen-hook rm {module}")
        for module in stored if module not in used
    ]
