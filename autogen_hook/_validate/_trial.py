"""Runs a candidate's examples in the import check's own process, right after its import.

Loaded by ``_forkserver.py`` beside it before the first fork (standard library only, like
``_sandbox.py``), so every sandboxed child has it without importing anything. The package
builds the trials (``_examples.py``); this side evaluates each in a copy of the module's
namespace under a time limit of its own and reports strings and booleans only, which the
package reads back as data.

Each trial is a dict: ``op`` (``truth``, ``compare``, ``output``, ``raises`` or ``call``),
``expression``, ``expected``, ``compare`` (the operator), ``literal`` (the expected output as a
value, when it is a literal), ``setup`` (statements run first), ``imports`` (standard-library
modules the example names) and ``seconds`` (a ``call`` must not raise the exception ``expected`` names, TypeError if none). Each result: ``passed``, ``actual``,
``expected``, ``error``, and ``stage`` (``setup``, ``expected``, ``refused`` for an OSError,
``timeout``, ``time-up`` or ``""``).
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # signal would import enum
import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

VALUE = 200  # characters of a value's repr sent back
MARGIN = 0.5  # seconds of the check's own time kept for writing the result
_OPS = {
    "==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
    "is": lambda a, b: a is b, "is not": lambda a, b: a is not b,
    "in": lambda a, b: a in b, "not in": lambda a, b: a not in b,
}


class _Late(BaseException):
    """Raised in the example's code when its time is up."""


def _alarm(signum: int, frame: object) -> None:
    _arm(0.05)  # again, should the module swallow this one
    raise _Late


def _arm(seconds: float) -> None:
    """The alarm in ``seconds`` (0: none). Without interval timers (Windows) only the check's
    own time limit stops an example."""
    if hasattr(_signal, "setitimer"):
        _signal.setitimer(_signal.ITIMER_REAL, seconds)


def _left() -> float:
    """Seconds until the check's own alarm, or a day where there is none."""
    left = _signal.getitimer(_signal.ITIMER_REAL)[0] if hasattr(_signal, "getitimer") else 0.0
    return left or 86400.0


def run(namespace: dict[str, Any], trials: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every trial's result, in order. The check's own alarm keeps running in the background:
    what is left of it is read first and set again at the end."""
    end = time.monotonic() + _left() - MARGIN
    alarm = getattr(_signal, "SIGALRM", None)
    previous = _signal.signal(alarm, _alarm) if alarm is not None else None
    results = []
    try:
        for trial in trials:
            seconds = min(trial["seconds"], end - time.monotonic())
            late = _result(trial["op"] == "call", stage="timeout" if seconds == trial["seconds"] else "time-up")
            try:
                results.append(_timed(namespace, trial, seconds) if seconds > 0 else late)
            except _Late:  # delivered just after its timer was stopped
                results.append(late)
    finally:
        _arm(0)
        if alarm is not None:
            _signal.signal(alarm, previous)
        _arm(max(end + MARGIN - time.monotonic(), 0.01))
    return results


def _timed(namespace: dict[str, Any], trial: dict[str, Any], seconds: float) -> dict[str, Any]:
    """One trial under its timer; ``_Late`` (a slow call is no TypeError) goes to the caller."""
    stdout = sys.stdout
    _arm(seconds)
    try:
        return _evaluate(dict(namespace), trial)
    except _Late:
        raise
    except BaseException as exc:  # the value's __repr__, __eq__ or __bool__ raised
        return _raised(exc)
    finally:
        _arm(0)
        sys.stdout = stdout


def _evaluate(scope: dict[str, Any], trial: dict[str, Any]) -> dict[str, Any]:
    """One trial in ``scope``: ``_Late`` passes through, every other exception is its result."""
    try:
        for name in trial["imports"]:
            scope[name] = __import__(name)
        for statement in trial["setup"]:
            exec(compile(statement, "<example>", "exec"), scope)
    except _Late:
        raise
    except BaseException as exc:
        return _raised(exc, "setup")
    op = trial["op"]
    if op == "output":
        return _output(scope, trial)
    try:
        if op == "raises":
            exec(compile(trial["expression"], "<example>", "single"), scope)
            return _result(False, expected=f"raises {trial['expected']}", actual="no exception")
        actual = eval(compile(trial["expression"], "<example>", "eval"), scope)
    except _Late:
        raise
    except BaseException as exc:
        if op == "raises" and trial["expected"] in [c.__name__ for c in type(exc).__mro__]:
            return _result(True)
        if op == "call":  # it must not raise the exception named (a misfit call's TypeError)
            forbidden = trial["expected"] or "TypeError"
            return _result(forbidden not in [c.__name__ for c in type(exc).__mro__], error=_error(exc))
        return _raised(exc)
    if op == "call":
        return _result(True)
    if op == "truth":
        return _result(bool(actual), actual=_repr(actual))
    try:
        expected = eval(compile(trial["expected"], "<example>", "eval"), scope)
    except _Late:
        raise
    except BaseException as exc:
        return _result(False, actual=_repr(actual), error=_error(exc), stage="expected")
    return _result(bool(_OPS[trial["compare"]](actual, expected)), actual=_repr(actual), expected=_repr(expected))


def _output(scope: dict[str, Any], trial: dict[str, Any]) -> dict[str, Any]:
    """A doctest line: what it prints, its value's repr included, against the text expected
    (whitespace aside), or its value against the expected literal."""
    import io

    sys.stdout = captured = io.StringIO()
    value: object = None
    try:
        try:
            code = compile(trial["expression"], "<example>", "eval")
        except SyntaxError:
            exec(compile(trial["expression"], "<example>", "single"), scope)
        else:
            value = eval(code, scope)
        printed = captured.getvalue()
        got = printed + (repr(value) + "\n" if value is not None else "")
    except _Late:
        raise
    except BaseException as exc:
        return _raised(exc)
    want = trial["expected"]
    same = got.split() == want.split()
    if not same and trial["literal"] and not printed:
        same = bool(value == trial["literal"][0])
    return _result(same, actual=got.rstrip("\n")[:VALUE], expected=want.rstrip("\n")[:VALUE])


def _result(passed: bool, *, actual: str = "", expected: str = "", error: str = "", stage: str = "") -> dict[str, Any]:
    return {"passed": passed, "actual": actual, "expected": expected, "error": error, "stage": stage}


def _raised(exc: BaseException, stage: str = "") -> dict[str, Any]:
    """A failure by exception; an OSError is what the sandbox refuses (files, network, processes)."""
    return _result(False, error=_error(exc), stage="refused" if isinstance(exc, OSError) else stage)


def _repr(value: object) -> str:
    text = repr(value)
    return text if len(text) <= VALUE else text[:VALUE] + " ..."


def _error(exc: BaseException) -> str:
    try:
        text = f"{type(exc).__name__}: {exc}"
    except BaseException:  # its __str__ raised
        text = type(exc).__name__
    return text if len(text) <= VALUE else text[:VALUE] + " ..."
