"""Tests as the spec: generating a module until named pytest tests pass
(``autogen-hook regenerate MODULE --until-pass TEST ...`` and ``autogen-hook warm --tests``).

The tests' asserts on the module's names are examples of every round, checked in the import
check's sandbox like any other. Then the tests themselves run for real, in a subprocess at the
project root (they are the user's code, so not in the sandbox; the module they import has
passed the policy and the sandboxed check first), offline, so that they import the module just
stored and nothing else gets generated. A failing run's report, redacted and capped, is the
reason of the next regeneration (``_regenerate.regenerate``, the one there is), up to
``max-attempts`` rounds in all. If the tests never pass, what was stored before the first round
is put back through the history, where the failed candidates stay for ``autogen-hook diff``.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

from . import _history, _runtime
from ._errors import AutogenHookError
from ._regenerate import regenerate
from ._result import GenerationResult
from ._settings import Settings
from ._spec_sources import examples_from_test
from ._store import Store
from ._validate._examples import Example
from .context._redact import redact

REPORT_CAP = 6_000  # characters of pytest's report a regeneration's reason carries
_NO_TESTS = 5  # pytest's exit status when it collected nothing
_PASSED, _FAILED, _ERRORS = 0, 1, 2  # pytest: all passed; some failed; interrupted (a collection error)
_KEPT_LINE = re.compile(r"^(_{3,} .+ _{3,}|>.*|E\s.*|\S+:\d+: \w.*|\d+ (failed|passed|error).*)$")


class NoTestsError(AutogenHookError):
    """pytest collected nothing from the tests named: the user's error, not the model's."""


@dataclass(frozen=True)
class Run:
    """One run of the tests."""

    passed: bool
    report: str  # what failed (redacted, capped); "" when they passed


@dataclass(frozen=True)
class Outcome:
    """What generating until the tests pass did to one module."""

    module: str
    tests: tuple[str, ...]
    passed: bool
    rounds: int  # generations made (0: the module passed as it was)
    result: GenerationResult | None  # the last round's generation
    report: str  # what failed in the last run ("" when the tests pass)
    original: int | None  # the history version that holds what was stored before (None: nothing was)
    restored: bool  # the tests never passed, so what was stored before is back (or nothing is)


def test_examples(
    settings: Settings, tests: Sequence[str], module: str, names: Sequence[str]
) -> tuple[Example, ...]:
    """The asserts on ``names`` in ``tests`` (node ids relative to the project root; a
    parametrized id's function); ExampleError for a test that does not exist."""
    found: list[Example] = []
    for test in tests:
        path, sep, rest = test.partition("::")
        found += examples_from_test(path + sep + re.sub(r"\[.*\]$", "", rest), module, names, settings.project_root)
    return tuple(dict.fromkeys(found))


def run_tests(settings: Settings, tests: Sequence[str]) -> Run:
    """``pytest -q`` on ``tests`` at the project root, offline (through the pytest plugin, so
    the stored modules are imported and nothing is generated), within twice the ``timeout``
    setting (a minute at least); NoTestsError when pytest collects nothing."""
    limit = max(60.0, 2 * settings.timeout)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests]
    env = {**os.environ, "AUTOGEN_HOOK_OFFLINE": "1"}
    try:
        done = subprocess.run(command, cwd=settings.project_root, env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=limit)
    except subprocess.TimeoutExpired:
        return Run(False, f"the tests did not finish within {limit:.0f} s (a loop that never ends?)")
    output = done.stdout + done.stderr
    if done.returncode == _PASSED:
        return Run(True, "")
    if done.returncode == _NO_TESTS:
        raise NoTestsError(f"pytest collected no test from {' '.join(tests)}: name test functions "
                           "(path::test_name) or files that hold some")
    if done.returncode not in (_FAILED, _ERRORS):  # pytest's own usage or internal error
        raise AutogenHookError(f"pytest could not run {' '.join(tests)} (exit status {done.returncode}):\n"
                               + _capped(output.strip()))
    return Run(False, failure_report(output))


def failure_report(output: str) -> str:
    """What pytest says about the failures: each one's heading, failing line, ``E`` lines and
    location, then the short summary (all of its output when none of that is there),
    redacted as prose and capped."""
    lines = output.splitlines()
    summary = next((i for i, line in enumerate(lines) if "short test summary info" in line), len(lines))
    kept = [line for line in lines[:summary] if _KEPT_LINE.match(line)] + lines[summary + 1:]
    return _capped(redact("\n".join(kept).strip() or output.strip(), prose=True))


def _capped(text: str) -> str:
    return text if len(text) <= REPORT_CAP else text[:REPORT_CAP] + f"\n[... {len(text) - REPORT_CAP} more characters cut]"


@dataclass
class UntilPass:
    """One module's rounds: made before the first generation, so that it knows what to put back."""

    settings: Settings
    module: str
    names: tuple[str, ...]
    tests: tuple[str, ...]
    examples: tuple[Example, ...]  # the tests' asserts
    hint: str | None = None
    rounds: int = 0
    result: GenerationResult | None = None
    _kept: int = field(init=False)  # the newest history version before the first round
    _stored: bool = field(init=False)  # whether the module was stored then

    def __post_init__(self) -> None:
        versions = _history.versions(self.settings.store_dir, self.module)
        self._kept = versions[-1].number if versions else 0
        self._stored = Store(self.settings.store_dir).read(self.module) is not None

    def generated(self, result: GenerationResult) -> None:
        """A round made elsewhere (``warm --tests`` generates what is missing at once)."""
        self.result = result
        if not result.from_store:
            self.rounds += 1

    def regenerate(self, why: str) -> None:
        """One round: the module regenerated through the pipeline, the tests' asserts included."""
        self.result = regenerate(self.module, self.names, why, settings=self.settings, examples=self.examples)
        self.rounds += 1

    def until_pass(self, first: str | None = None) -> Outcome:
        """Regenerate for the reason ``first`` (None: run the tests on what is stored), then run
        the tests, regenerating after each failing run until they pass or max-attempts rounds
        were made; if they never pass, what was stored before is put back. Whatever ends this
        early (a generation that fails, an interruption) puts it back too."""
        try:
            if first is not None:
                self.regenerate(first)
            ran = run_tests(self.settings, self.tests)
            while not ran.passed and self.rounds < self.settings.max_attempts:
                self.regenerate(self._reason(ran.report))
                ran = run_tests(self.settings, self.tests)
        except BaseException:
            self._put_back()
            raise
        if not ran.passed:
            self._put_back()
        written = self._written() if self._stored else []
        original = written[0].number if written else None
        return Outcome(self.module, self.tests, ran.passed, self.rounds, self.result, ran.report, original,
                       not ran.passed)

    def _reason(self, report: str) -> str:
        said = f"{self.hint.strip()}\n\n" if self.hint and self.hint.strip() else ""
        return (f"{said}The tests {' '.join(self.tests)} fail with the current module (pytest's report "
                f"follows); change the module so that they pass (the tests are right):\n{report}")

    def _written(self) -> list[_history.Version]:
        """The versions the history gained since the first round (the first: what was stored)."""
        return [v for v in _history.versions(self.settings.store_dir, self.module) if v.number > self._kept]

    def _put_back(self) -> None:
        """Restore what was stored before the first round, through the history; if nothing was,
        remove the module (kept in the history too)."""
        store = Store(self.settings.store_dir)
        written = self._written()
        if (self._stored and not written) or (not self._stored and store.read(self.module) is None):
            return  # nothing was written since

        async def locked() -> None:
            async with store.lock(self.module):
                if self._stored:
                    await asyncio.to_thread(store.restore, self.module, written[0])
                else:
                    await asyncio.to_thread(store.remove, self.module, "its tests never passed (--until-pass)")

        _runtime.run(locked())
