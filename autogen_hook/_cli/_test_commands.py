"""Tests as the spec: ``regenerate MODULE --until-pass TEST ...`` and ``warm --tests PATH ...``
(the work is ``_until_pass``'s; this reads the arguments and reports)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from ._common import CommandFailed, module_name, names_of, print_json, settings_of, table, usage_error

if TYPE_CHECKING:
    from .._settings import Settings
    from .._until_pass import Outcome, UntilPass
    from .._validate._examples import Example
    from ..context._usage import Use


def regenerate_until_pass(args: argparse.Namespace, why: str, refresh_stubs: Callable[[Settings], None]) -> int:
    """Regenerate MODULE for the reason ``why``, the named tests' asserts as examples, until the
    tests pass; then ``refresh_stubs`` (regenerate's own)."""
    from .._until_pass import NoTestsError, UntilPass

    settings = _unreviewed(settings_of(args))
    module = module_name(args, settings)
    tests = tuple(dict.fromkeys(args.until_pass))
    names = names_of(args, module) or _names(settings, module, tests)
    examples = _examples(args, settings, tests, module, names)
    rounds = UntilPass(settings, module, names, tests, examples, args.hint)
    try:
        outcome = rounds.until_pass(why)
    except NoTestsError as exc:
        usage_error(args, f"--until-pass: {exc}")
    refresh_stubs(settings)
    if args.json:
        result = outcome.result
        print_json({"module": module, "path": result.path if result else None, "names": list(names),
                    "provider": result.provider if result else None, "model": result.model if result else None,
                    "attempts": result.attempts if result else 0, "replaced_version": outcome.original,
                    "tests": list(tests), "passed": outcome.passed, "rounds": outcome.rounds,
                    "restored": outcome.restored, "failures": outcome.report})
        return 0 if outcome.passed else 1
    if not outcome.passed:
        raise CommandFailed(f"{module}: {_failed(outcome)}")
    path = outcome.result.path if outcome.result else ""
    print(f"regenerated {module}: the tests pass ({outcome.rounds} round(s)): {os.path.relpath(path)}")
    if outcome.original is not None:
        print(f"the version it replaced is kept as version {outcome.original}: autogen-hook diff {module} "
              f"{outcome.original}")
    return 0


def warm_tests(args: argparse.Namespace, refresh_stubs: Callable[[Settings], None]) -> int:
    """For each module the tests under PATHs use: generate what is missing (their asserts as
    examples), then run its tests, regenerating until they pass or restoring; then
    ``refresh_stubs`` (warm's own)."""
    from .. import _runtime
    from .._until_pass import UntilPass
    from ..context._usage import scan

    if args.paths or args.stale:
        usage_error(args, "--tests: PATHS and --stale are for warming the codebase; warm it first, then its tests")
    settings = _unreviewed(settings_of(args))
    for path in args.tests:
        if not os.path.exists(path):
            usage_error(args, f"--tests: {path} does not exist")
    scanned = scan(settings.project_root, settings.namespace, (settings.store_dir,), args.tests)
    uses: dict[str, list[Use]] = {}
    for use in scanned.uses:
        if use.used and _is_test_file(use.path):
            uses.setdefault(use.module, []).append(use)
    plans: dict[str, UntilPass] = {}
    for module, found in sorted(uses.items()):
        names = tuple(dict.fromkeys(n for use in found for n in use.used))
        tests = tuple(dict.fromkeys(use.path for use in found))
        plans[module] = UntilPass(settings, module, names, tests, _examples(args, settings, tests, module, names))
    generated = _runtime.run(_generate_missing(settings, plans, uses))
    rows = [_warmed(plan, generated[module]) for module, plan in plans.items()]
    if any(row["rounds"] for row in rows):
        refresh_stubs(settings)
    counts = {"passed": sum(bool(r["passed"]) for r in rows), "failed": sum(not r["passed"] for r in rows)}
    if args.json:
        print_json({"modules": rows, "counts": counts})
    else:
        _print_summary(rows, counts)
    return 1 if counts["failed"] else 0


def _warmed(plan: UntilPass, failed: str | None) -> dict[str, object]:
    """One module's row: its tests run until they pass (unless generating it failed)."""
    from .._warm import failure

    if failed is None:
        try:
            outcome = plan.until_pass()
        except Exception as exc:  # noqa: BLE001 - one module's failure is reported; the others go on
            failed = failure(exc)
        else:
            return _row(plan, "" if outcome.passed else _failed(outcome), outcome)
    return _row(plan, failed)


def _row(plan: UntilPass, detail: str, outcome: Outcome | None = None) -> dict[str, object]:
    """What ``--json`` says of one module (no outcome: a generation failed, and what it had
    written is put back)."""
    return {"module": plan.module, "tests": list(plan.tests), "names": list(plan.names),
            "passed": bool(outcome and outcome.passed), "rounds": plan.rounds,
            "replaced_version": outcome.original if outcome else None,
            "restored": outcome.restored if outcome else plan.rounds > 0, "detail": detail}


async def _generate_missing(
    settings: Settings, plans: dict[str, UntilPass], uses: dict[str, list[Use]]
) -> dict[str, str | None]:
    """What the store lacks of each module, generated at once (one request a module, its first
    test file the caller, its tests' asserts the examples): module -> why it failed, or None."""
    import asyncio
    from dataclasses import replace

    from .._pipeline import ensure
    from .._warm import failure, request_for

    async def one(module: str, plan: UntilPass) -> str | None:
        asked = request_for(settings, module, plan.names, uses[module][0])
        request = replace(asked, examples=tuple(e.as_json() for e in plan.examples))
        try:
            plan.generated(await ensure(request, settings))
        except Exception as exc:  # noqa: BLE001 - reported with the others
            return failure(exc)
        return None

    found = await asyncio.gather(*(one(m, p) for m, p in plans.items()))
    return dict(zip(plans, found))


def _print_summary(rows: list[dict[str, object]], counts: dict[str, int]) -> None:
    if rows:
        print(table(("module", "result", "rounds", "tests", "reason"),
                    [(r["module"], "passes" if r["passed"] else "fails", r["rounds"], ", ".join(r["tests"]),  # type: ignore[arg-type]
                      str(r["detail"]).splitlines()[0] if r["detail"] else "") for r in rows], widest=60))
    for row in rows:
        if not row["passed"]:
            print(f"failed: {row['module']}: {row['detail']}")
    print(f"warm --tests: {counts['passed']} module(s) pass their tests, {counts['failed']} fail")


def _unreviewed(settings: Settings) -> Settings:
    """The settings, unless review is on: every candidate would run in the tests before anyone
    accepted it (and, with no terminal there, it could not run at all)."""
    if settings.review != "never":
        raise CommandFailed(f"the review setting is {settings.review!r}: running the tests would run each "
                            "candidate before anyone accepted it. Nothing was asked; to do it anyway, run "
                            "with AUTOGEN_HOOK_REVIEW=never and accept the module afterwards")
    return settings


def _names(settings: Settings, module: str, tests: tuple[str, ...]) -> tuple[str, ...]:
    """What the module must define: every public name it defines now, and those the tests use."""
    from .._store import Store
    from .._validate import public_names
    from ..context._usage import scan

    files = [os.path.join(settings.project_root, t.partition("::")[0]) for t in tests]
    used = [n for use in scan(settings.project_root, settings.namespace, (settings.store_dir,), files).uses
            if use.module == module for n in use.used]
    return tuple(dict.fromkeys([*sorted(public_names(Store(settings.store_dir).read(module))), *used]))


def _examples(
    args: argparse.Namespace, settings: Settings, tests: tuple[str, ...], module: str, names: tuple[str, ...]
) -> tuple[Example, ...]:
    """The tests' asserts on ``names``; a test that does not exist is a usage error."""
    from .._errors import ExampleError
    from .._until_pass import test_examples

    try:
        return test_examples(settings, tests, module, names)
    except ExampleError as exc:
        usage_error(args, f"{'--until-pass' if getattr(args, 'until_pass', None) else '--tests'}: {exc}")


def _is_test_file(path: str) -> bool:
    """A file pytest collects by default (test_*.py, *_test.py); helpers and conftest.py are not."""
    name = os.path.basename(path)
    return name.startswith("test_") or name.endswith("_test.py")


def _failed(outcome: Outcome) -> str:
    """Why the tests never passed, and what was done about it."""
    module = outcome.module
    if outcome.original is not None:
        back = (f"version {outcome.original}, stored before, is restored; the candidates are kept in the "
                f"history (autogen-hook history {module})")
    else:
        back = f"the module, not stored before, is removed again (kept in the history: autogen-hook history {module})"
    return (f"the tests {' '.join(outcome.tests)} still fail after {outcome.rounds} round(s); {back}. "
            f"What failed in the last round:\n{outcome.report}")
