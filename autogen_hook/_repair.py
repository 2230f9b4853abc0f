"""Repair: an exception escaping a stored module's function asks for a fixed version.

Under ``repair = true`` the loader hands each stored module, once it has run, to :func:`watch`,
which wraps its public module-level functions (plain and ``async def``; not methods, classes,
generators or decorated functions). The first ``Exception`` that escapes one of them in this
process (not StopIteration, and not one the module raises itself with a ``raise`` statement:
that is its answer to the input, such as ValueError for a negative count) asks for a fixed
version at once, before the exception goes on unchanged: the traceback, the call with the
arguments' reprs (redacted, capped) and the module's source go into a regeneration
(``_regenerate.regenerate``, the one regeneration there is). The fix must pass every example and
the failing call: the caller's ``assert f(x) == 0`` being run gives ``f(0) == 0``; without an
assert, a call with literal arguments must not raise that exception again. The fix is stored
(the old version kept in the history) and used from the next import or
``autogen_hook.reload``: the running module keeps its functions. One line on stderr says what
happened; a repair that fails says so, and never takes the place of the user's exception.

Only ``watch`` and the wrappers run when a stored module is imported: they import functools
(with what it imports) and nothing else (not dataclasses or typing: dataclasses alone would
add 15 ms); the rest is the failure's cold path. With repair off, nothing here is imported.
"""

from __future__ import annotations

import functools
import sys
from types import FunctionType

from ._state import STATE

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from types import FrameType, ModuleType
    from typing import Any

    from ._result import GenerationResult
    from ._settings import Settings
    from ._validate._examples import Example

ARGUMENTS = 2_000  # characters of the call, with the arguments' reprs, sent
TRACEBACK = 8_000  # characters of the traceback sent (its end: the innermost frames)
SUMMARY = 200  # characters of the one line that names the failure
EXAMPLE = 500  # characters of a failing call that becomes an example (longer: none)
_COROUTINE = 0x80  # code flags (inspect's CO_*): a coroutine function is awaited in its wrapper
_GENERATORS = 0x20 | 0x200  # a generator's exceptions escape while it is iterated, not called
_WATCHED = "_autogen_hook_watched"


class Failure:
    """What a repair is asked to fix."""

    def __init__(self, summary: str, report: str, examples: tuple[Example, ...] = ()) -> None:
        self.summary = summary  # one line, redacted: what the terminal, the history and the audit log say
        self.report = report  # the prompt's reason: the call and the traceback (redacted, capped)
        self.examples = examples  # the failing call, when its outcome is known

    def reason(self, hint: str | None) -> str:
        """Why the module is written again, as the prompt says it."""
        return self.report + (f"\n\nWhat to change besides: {hint.strip()}" if hint and hint.strip() else "")


def watch(module: ModuleType, settings: Settings) -> None:
    """Wrap each public function ``module`` defines itself (not those it imports), so that an
    exception escaping it asks for a repair. The module's file runs anew (a reload): its
    tracebacks show the file again."""
    path = getattr(module, "__file__", None)
    if path is not None and path in STATE.pinned:
        _unpin(path)
    for name, value in list(vars(module).items()):
        if (
            not name.startswith("_")
            and isinstance(value, FunctionType)
            and value.__module__ == module.__name__
            and not getattr(value, _WATCHED, False)
            and not value.__code__.co_flags & _GENERATORS
        ):
            setattr(module, name, _watched(value, name, module.__name__, settings))


def _watched(function: FunctionType, name: str, module: str, settings: Settings) -> Callable[..., Any]:
    """``function`` as callers see it (``functools.wraps``: name, signature, source), re-raising
    whatever it raises unchanged once the repair has been asked for."""
    wrapper: Callable[..., Any]
    if function.__code__.co_flags & _COROUTINE:

        @functools.wraps(function)
        async def awaited(*args: Any, **kwargs: Any) -> Any:
            try:
                return await function(*args, **kwargs)
            except Exception as exc:
                _escaped(function, name, module, settings, exc, args, kwargs)
                raise

        wrapper = awaited
    else:

        @functools.wraps(function)
        def called(*args: Any, **kwargs: Any) -> Any:
            try:
                return function(*args, **kwargs)
            except Exception as exc:
                _escaped(function, name, module, settings, exc, args, kwargs)
                raise

        wrapper = called
    setattr(wrapper, _WATCHED, True)
    return wrapper


def _escaped(
    function: FunctionType,
    name: str,
    module: str,
    settings: Settings,
    exc: Exception,
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
) -> None:
    """Repair ``module`` for ``exc`` (the first such exception in this process) and say so on
    stderr; whatever the repair meets, the caller re-raises ``exc`` (Ctrl-C aside). A call
    from the module's own code is left to the outermost one, the call its user made (its
    arguments, its assert; and the stack a RecursionError left is there again)."""
    direct = sys._getframe(1).f_back  # the wrapper's caller
    if direct is not None and direct.f_globals.get("__name__") == module:
        return
    if isinstance(exc, (StopIteration, StopAsyncIteration)) or _deliberate(exc, function) or not _claim(module):
        return
    summary = f"{module}.{name} raised {type(exc).__name__}"
    try:
        frame = _caller(direct, module)
        failure = _failure(function, name, module, exc, args, kwargs, frame, settings)
        summary = failure.summary
        _pin(function.__code__.co_filename)
        line = f"autogen-hook: {summary}; " + repaired_line(module, *repair(module, failure, frame, settings=settings))
    except Exception as problem:  # noqa: BLE001 - the user's exception goes on, whatever the repair met
        line = f"autogen-hook: {summary}; repair failed: {failed(problem)}"
    try:
        print(line, file=sys.stderr, flush=True)
    except (OSError, ValueError):  # stderr closed: the audit log and the history still tell
        pass


def repair(
    module: str,
    failure: Failure,
    frame: FrameType | None = None,
    *,
    settings: Settings,
    hint: str | None = None,
) -> tuple[GenerationResult, int | None]:
    """Ask for and store the fix of ``failure`` (``frame``: the failing call's caller); return
    the result and the history's number of the version it replaced."""
    from . import _history
    from ._regenerate import regenerate

    result = regenerate(module, hint=failure.reason(hint), frame=frame, settings=settings, repair=failure.summary,
                        examples=failure.examples)
    STATE.fixed.add(module)  # reload() runs it without asking again
    kept = _history.versions(settings.store_dir, module)
    return result, kept[-1].number if kept else None


def repaired_line(module: str, result: GenerationResult, replaced: int | None) -> str:
    """What a repair stored, and from when it is used."""
    attempts = f"{result.attempts} attempt" + ("s" if result.attempts != 1 else "")
    old = f"; the old one is version {replaced} of the history" if replaced is not None else ""
    return (f"repaired: stored a fixed version ({result.provider}, {result.model}, {attempts}){old}; it is used "
            f"from the next import or autogen_hook.reload({module!r})")


def failed(problem: Exception) -> str:
    """A failed repair in one line: the error's first line (validation lists each attempt after it)."""
    from .context._redact import redact

    from ._errors import ValidationFailedError

    first = (str(problem).strip().splitlines() or [type(problem).__name__])[0].rstrip(":")
    listed = isinstance(problem, ValidationFailedError)  # its attempts' problems follow the first line
    more = " (each attempt's problem is in the audit log: autogen-hook audit)" if listed else ""
    return _cap(redact(first, prose=True), SUMMARY) + f"{more}; the stored version stays"


def by_hand(module: str, traceback_text: str) -> Failure:
    """The failure a traceback given by hand describes (``autogen-hook repair``)."""
    from .context._redact import redact

    last = next((line.strip() for line in reversed(traceback_text.splitlines()) if line.strip()), "")
    summary = _cap(redact(f"{module}: {last} (a traceback given by hand)", prose=True), SUMMARY)
    return Failure(summary, _report(f"A repair asked for by hand (autogen-hook repair): {summary}.", traceback_text))


def _failure(
    function: FunctionType,
    name: str,
    module: str,
    exc: Exception,
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    frame: FrameType | None,
    settings: Settings,
) -> Failure:
    """What a repair sends: the summary, the call and the traceback; and the failing call as
    an example when its arguments are literals (and no secret): the caller's assert on it, if
    the call is part of one, else a call that must not raise ``exc``'s type again. None for a
    coroutine function: an example calls, it does not await."""
    import traceback

    from ._validate._examples import Example
    from .context._redact import redact

    error = traceback.format_exception_only(type(exc), exc)[-1].strip()
    summary = _cap(redact(f"{module}.{name} raised {error}", prose=True), SUMMARY)
    shown = _cap(redact(f"{name}({', '.join(_arguments(args, kwargs))})", prose=True), ARGUMENTS)
    opening = f"A repair: {summary}, when it was called as follows (the arguments' reprs, redacted):\n    {shown}"
    report = _report(opening, _traceback(exc, frame))
    call = None if function.__code__.co_flags & _COROUTINE else _literal_call(name, args, kwargs)
    if call is None:
        return Failure(summary, report)
    origin = f"the call that raised {type(exc).__name__}"
    if frame is not None:
        from .context import _display_name

        origin += f" ({_display_name(frame.f_code.co_filename, settings.project_root)}, line {frame.f_lineno})"
        asserted = _asserted(frame, function, name, module, call, origin)
        if asserted is not None:
            return Failure(summary, report, (asserted,))
    return Failure(summary, report, (Example(call, origin, call, "call", type(exc).__name__),))


def _traceback(exc: Exception, frame: FrameType | None) -> str:
    """The traceback the user will see, but for the wrapper's frame: the caller's stack, then
    the module's frames (chained exceptions too)."""
    import traceback

    tb = exc.__traceback__
    error = traceback.TracebackException(type(exc), exc, tb.tb_next if tb is not None else None)
    if frame is not None:
        error.stack = traceback.StackSummary.from_list([*traceback.extract_stack(frame), *error.stack])
    return "".join(error.format())


def _report(opening: str, trace: str) -> str:
    """The reason the prompt gives: the traceback's end holds the innermost frames, so that is kept."""
    from .context._redact import redact

    text = redact(trace.strip(), prose=True)
    if len(text) > TRACEBACK:
        text = f"[... {len(text) - TRACEBACK} characters cut]\n" + text[-TRACEBACK:]
    return (f"{opening}\n\nThe traceback (redacted):\n{text}\n\nFix the cause in the module: keep every public "
            "name and its signature, and make this call do what its caller needs.")


def _arguments(args: Sequence[Any], kwargs: Mapping[str, Any]) -> list[str]:
    """The call's arguments as it was made, each by its repr."""
    return [*(_repr(v) for v in args), *(f"{k}={_repr(v)}" for k, v in kwargs.items())]


def _repr(value: object) -> str:
    """A repr that cannot fail the repair, nor run to megabytes."""
    try:
        text = repr(value)
    except Exception as exc:  # noqa: BLE001 - a repr that raises is the value's own business
        return f"<{type(value).__name__} object: its repr raised {type(exc).__name__}>"
    return text if len(text) <= ARGUMENTS else text[:ARGUMENTS] + " ..."


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + " ..."


def _deliberate(exc: Exception, function: FunctionType) -> bool:
    """The exception came from a ``raise`` statement of the module's own, in its innermost frame."""
    import linecache

    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None or tb.tb_frame.f_code.co_filename != function.__code__.co_filename:
        return False
    return linecache.getline(tb.tb_frame.f_code.co_filename, tb.tb_lineno).lstrip().startswith("raise")


def _pin(path: str) -> None:
    """Keep the running code's lines for its tracebacks in this process: the repair replaces
    the file under it (linecache never checks an entry without a modification time again)."""
    import linecache

    lines = linecache.getlines(path)
    if lines:
        linecache.cache[path] = (sum(map(len, lines)), None, lines, path)
        STATE.pinned.add(path)


def _unpin(path: str) -> None:
    """The file runs again: its tracebacks show it as it is now."""
    import linecache

    linecache.cache.pop(path, None)
    STATE.pinned.discard(path)


def _claim(module: str) -> bool:
    """Whether this exception is the first of ``module``'s to ask for a repair in this process."""
    with STATE.lock:
        if module in STATE.repaired:
            return False
        STATE.repaired.add(module)
        return True


def _caller(frame: FrameType | None, module: str) -> FrameType | None:
    """The first frame that is neither the module's, a watching wrapper's nor asyncio's."""
    while frame is not None and _passed_by(frame.f_globals.get("__name__") or "", module):
        frame = frame.f_back
    return frame


def _passed_by(name: str, module: str) -> bool:
    """A frame of the module, of a wrapper or of the event loop that resumed a coroutine."""
    return name in (module, __name__, "asyncio") or name.startswith("asyncio.")


def _literal_call(name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> str | None:
    """``name(...)`` with every argument written as a literal that reads back equal, or None
    (an argument that is no literal, a call too long, or one that holds a secret: an example
    is recorded in the module's metadata, which is committed)."""
    import ast

    from .context._redact import redact

    parts = []
    for value in (*args, *kwargs.values()):
        try:
            text = repr(value)
            back = ast.literal_eval(text)
            same = type(back) is type(value) and bool(back == value)
        except Exception:  # noqa: BLE001 - its repr, parse or comparison failed: not a literal
            return None
        if not same:
            return None
        parts.append(text)
    keywords = [f"{k}={v}" for k, v in zip(kwargs, parts[len(args):])]
    call = f"{name}({', '.join([*parts[:len(args)], *keywords])})"
    return call if len(call) <= EXAMPLE and redact(call, prose=True) == call else None


def _asserted(
    frame: FrameType, function: FunctionType, name: str, module: str, call: str, origin: str
) -> Example | None:
    """The caller's ``assert`` the failing call is part of, the call written out with its
    arguments' values, if that assert uses nothing of the caller's own (but the function,
    builtins and standard-library modules)."""
    import ast
    import linecache
    from dataclasses import replace

    from ._validate._examples import free_names, parse_example, provided

    try:
        tree = ast.parse("".join(linecache.getlines(frame.f_code.co_filename, frame.f_globals)))
    except (SyntaxError, ValueError):
        return None
    line = frame.f_lineno
    statement = next((n for n in ast.walk(tree) if isinstance(n, ast.Assert)
                      and n.lineno <= line <= (n.end_lineno or n.lineno)), None)
    if statement is None:
        return None
    literal = ast.parse(call, mode="eval").body
    replaced = []

    class Literal(ast.NodeTransformer):
        """The call of the function becomes the literal call."""

        def visit_Call(self, node: ast.Call) -> ast.AST:  # noqa: N802 - NodeTransformer's naming
            if _names_function(frame, node.func, function, module):
                replaced.append(node)
                return ast.copy_location(literal, node)
            return self.generic_visit(node)

    text = ast.unparse(Literal().visit(statement.test))
    names = free_names([(text, "eval")])
    if len(replaced) != 1 or not all(n == name or provided(n) for n in names):
        return None
    try:
        found = parse_example(text, origin, module)
    except Exception:  # noqa: BLE001 - ExampleError: an assert that is no example says no outcome
        return None
    return replace(found[0], from_caller=True) if len(found) == 1 else None


def _names_function(frame: FrameType, func: Any, function: FunctionType, module: str) -> bool:
    """``func`` (a call's syntax) is the watched ``function``, by a name the caller bound or
    as an attribute of its module."""
    import ast

    def value(name: str) -> object:
        return frame.f_locals.get(name, frame.f_globals.get(name))

    if isinstance(func, ast.Name):
        return getattr(value(func.id), "__wrapped__", None) is function
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        owner = value(func.value.id)  # vars(): an attribute it lacks must not be generated now
        return owner is sys.modules.get(module) and getattr(vars(owner).get(func.attr), "__wrapped__", None) is function
    return False
