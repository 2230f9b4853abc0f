"""Examples: what a module must do, run against every candidate after its import check.

An example is an expression that must hold (``slugify('A B') == 'a-b'``, or an ``assert``
of the caller's), a doctest line whose output must match (``>>> f(1)`` then ``2``) or whose
exception must be raised, or a call with literal arguments, which must not raise ``TypeError``
(a call of the caller's) or the exception it raised (a repair's failing call). Examples run in
the check's sandboxed process, in a copy of the candidate's namespace, each under its own time
limit (``_trial.py``); a failure goes back to the model with the example, the value expected
and the value the module gave.

An example that cannot be evaluated is the user's error (:class:`ExampleError`), found
before the model is asked wherever it can be: not Python, not one expression, a private
name, or no name of the module at all. An example that names something the module will not
define after this generation waits for the generation that defines it (``pending``).
"""

from __future__ import annotations

import ast
import builtins
import doctest
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from .._errors import ExampleError
from ..context._redact import redact
from ._calls import Call
from ._static import Problem

TIME_LIMIT = 2.0  # seconds each example may run; the check's own limit bounds them all
_OPERATORS = {
    ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
    ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in",
}
_FIX = "Examples are yours: fix this one (the model was not asked about it)."


@dataclass(frozen=True)
class Example:
    """One behaviour the module must show, as written and where it was written."""

    text: str  # as the user wrote it: what the prompt and the problems show
    origin: str  # where it came from: "describe(examples=...)", "main.py, line 4"
    expression: str  # the code evaluated (for a comparison, its left side)
    op: str = "truth"  # truth, compare, output (doctest), raises (doctest), call (caller's call)
    expected: str = ""  # compare: the right side; output: the text; raises: the exception's name;
    # call: the exception it must not raise ("": TypeError, a call that does not fit)
    compare: str = ""  # compare: the operator
    setup: tuple[str, ...] = ()  # statements run first: a doctest's earlier lines
    from_caller: bool = False  # an assert in the caller's code: it may rely on the caller's world

    def as_json(self) -> dict[str, Any]:
        """Plain JSON values, as the metadata records them."""
        return {**asdict(self), "setup": list(self.setup)}

    @classmethod
    def from_json(cls, value: object) -> Example | None:
        """The example a metadata record holds, or None if it is not one."""
        if not isinstance(value, dict):
            return None
        try:
            example = cls(**{**value, "setup": tuple(value.get("setup", ()))})
        except TypeError:
            return None
        fields = (example.text, example.origin, example.expression, example.op, example.expected, example.compare)
        typed = all(isinstance(f, str) for f in (*fields, *example.setup)) and isinstance(example.from_caller, bool)
        return example if typed else None

    @property
    def label(self) -> str:
        """One line for a problem (a doctest's expected output follows it there)."""
        if self.op in ("output", "raises"):
            return ">>> " + " ".join(self.expression.split())
        return " ".join(self.text.split())

    def names(self) -> set[str]:
        """The free names of its code: what the module, the builtins or the standard library
        must provide."""
        codes = [*((s, "exec") for s in self.setup), (self.expression, "exec" if self.op in ("output", "raises") else "eval")]
        if self.op == "compare":
            codes.append((self.expected, "eval"))
        return free_names(codes)


@dataclass(frozen=True)
class Behaviour:
    """Everything a candidate must do besides importing: examples and the caller's calls."""

    examples: tuple[Example, ...] = ()  # run against every candidate (the caller's literal calls too)
    calls: tuple[Call, ...] = ()  # the caller's calls, checked against the signatures
    pending: tuple[Example, ...] = ()  # they name what the module will not define yet

    @property
    def shown(self) -> tuple[Example, ...]:
        """The examples the prompt lists (the caller's calls are in its own section)."""
        return tuple(e for e in self.examples if e.op != "call")

    def record(self, unchecked: Sequence[Example] = ()) -> dict[str, Any]:
        """What the metadata keeps: every example run (all passed but the ``unchecked`` ones
        the sandbox could not judge, or nothing would be stored), and those left for a later
        generation."""
        return {
            "examples": [e.as_json() for e in self.examples],
            "examples_passed": True,
            "examples_unchecked": [e.as_json() for e in unchecked],
            "examples_pending": [e.as_json() for e in self.pending],
        }


def parse_example(text: str, origin: str, module: str) -> list[Example]:
    """The example(s) in ``text``: one expression or ``assert``, or doctest lines (``>>>``)."""
    if text.lstrip().startswith(">>>"):
        found = doctest_examples(text, origin, module)
        if not found:
            raise ExampleError(
                f"the example {text.strip()!r} ({origin}) has no expected output: a `>>>` line "
                f"must be followed by what it prints. {_FIX}", module=module,
            )
        return found
    code = text.strip()
    try:
        tree = ast.parse(code, "<example>")
    except (SyntaxError, ValueError) as exc:  # ValueError: null bytes
        raise ExampleError(
            f"the example {code!r} ({origin}) is not valid Python: {_reason(exc)}. {_FIX}", module=module
        ) from None
    if len(tree.body) != 1 or not isinstance(tree.body[0], (ast.Expr, ast.Assert)):
        raise ExampleError(
            f"the example {code!r} ({origin}) must be one expression or assert statement, such as "
            f"\"slugify('A B') == 'a-b'\". {_FIX}", module=module,
        )
    statement = tree.body[0]
    test = statement.value if isinstance(statement, ast.Expr) else statement.test
    return [_expression(test, code, origin)]


def _reason(exc: SyntaxError | ValueError) -> str:
    return exc.msg if isinstance(exc, SyntaxError) else str(exc)


def _expression(test: ast.expr, text: str, origin: str) -> Example:
    """A comparison keeps its sides apart, so that a failure shows both values."""
    source = ast.get_source_segment(text, test) or ast.unparse(test)
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and type(test.ops[0]) in _OPERATORS:
        left = ast.get_source_segment(text, test.left) or ast.unparse(test.left)
        right = ast.get_source_segment(text, test.comparators[0]) or ast.unparse(test.comparators[0])
        return Example(text, origin, left, "compare", right, _OPERATORS[type(test.ops[0])])
    return Example(text, origin, source)


def doctest_examples(text: str, origin: str, module: str) -> list[Example]:
    """The ``>>>`` lines of ``text`` that say what they print or raise; the lines before each
    that say nothing are its setup (imports from ``module`` itself are left out: its names
    are there already)."""
    try:
        parsed = doctest.DocTestParser().get_examples(text)
    except ValueError as exc:  # inconsistent indentation, a missing blank after >>>
        raise ExampleError(f"the doctest in {origin} cannot be read: {exc}. {_FIX}", module=module) from None
    examples: list[Example] = []
    setup: list[str] = []
    for item in parsed:
        source = item.source.rstrip("\n")
        where = f"{origin}, line {item.lineno + 1}"
        try:
            ast.parse(source, "<example>")
        except (SyntaxError, ValueError) as exc:
            raise ExampleError(
                f"the doctest line {source!r} ({where}) is not valid Python: {_reason(exc)}. {_FIX}", module=module
            ) from None
        shown = "\n".join([f">>> {line}" if n == 0 else f"... {line}" for n, line in enumerate(source.splitlines())])
        if item.exc_msg is not None:
            name = item.exc_msg.partition(":")[0].strip().rpartition(".")[2]
            examples.append(Example(f"{shown}\n{item.exc_msg.strip()}", where, source, "raises", name, "", tuple(setup)))
        elif _want(item.want):
            want = _want(item.want)
            examples.append(Example(f"{shown}\n{want.rstrip()}", where, source, "output", want, "", tuple(setup)))
        elif not _imports_from(source, module):
            setup.append(source)
    return examples


def _want(text: str) -> str:
    """The expected output without the end of a docstring that closes right after it (a
    description may quote a function with its docstring)."""
    lines = text.splitlines(keepends=True)
    while lines and lines[-1].strip() in ('"""', "'''"):
        lines.pop()
    return "".join(lines)


def _imports_from(source: str, module: str) -> bool:
    tree = ast.parse(source)
    return all(isinstance(n, ast.ImportFrom) and n.module == module for n in tree.body)


def free_names(codes: Iterable[tuple[str, str]]) -> set[str]:
    """Names the code reads but does not bind itself (``(code, mode)`` pairs, parsed)."""
    loaded: set[str] = set()
    bound: set[str] = set()
    for code, mode in codes:
        for node in ast.walk(ast.parse(code, mode=mode)):
            if isinstance(node, ast.Name):
                (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
            elif isinstance(node, ast.arg):
                bound.add(node.arg)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                bound.update((a.asname or a.name).split(".")[0] for a in node.names)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                bound.add(node.name)
    return loaded - bound


def applicable(
    examples: Iterable[Example], defined: set[str], module: str
) -> tuple[tuple[Example, ...], tuple[Example, ...]]:
    """The examples to run now and those that wait (they name what ``module`` will not
    define after this generation); ExampleError for one that could never be evaluated."""
    now: dict[tuple[Any, ...], Example] = {}
    later: dict[tuple[Any, ...], Example] = {}
    for example in examples:
        names = example.names()
        private = sorted(n for n in names if n.startswith("_") and n not in defined and not provided(n))
        if private:
            raise ExampleError(
                f"the example {example.text!r} ({example.origin}) uses {', '.join(private)}: examples "
                "may use the module's public names, builtins and standard-library modules. " + _FIX,
                module=module,
            )
        unknown = {n for n in names if n not in defined and not provided(n)}
        if not unknown and not names & defined:
            raise ExampleError(
                f"the example {example.text!r} ({example.origin}) uses no name of {module}, so it "
                "checks nothing of it. " + _FIX, module=module,
            )
        key = (example.expression, example.op, example.expected, example.compare, example.setup)
        (later if unknown else now).setdefault(key, example)
    return tuple(now.values()), tuple(later.values())


def provided(name: str) -> bool:
    """A builtin, or a standard-library module (imported for the example)."""
    return name in builtins.__dict__ or name in sys.stdlib_module_names


def trials(examples: Sequence[Example], defined: set[str]) -> list[dict[str, Any]]:
    """What the check's process runs (``_trial.py``): plain data it can marshal."""
    jobs = []
    for example in examples:
        imports = sorted(n for n in example.names() if n not in defined and n not in builtins.__dict__)
        jobs.append({
            "op": example.op, "expression": example.expression, "expected": example.expected,
            "compare": example.compare, "setup": list(example.setup), "imports": imports,
            "literal": _literal(example.expected) if example.op == "output" else (),
            "seconds": TIME_LIMIT,
        })
    return jobs


def _literal(text: str) -> tuple[object, ...]:
    """The expected output as a value, when it is a literal: ``[1,2]`` matches ``[1, 2]``."""
    try:
        return (ast.literal_eval(text.strip()),)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return ()


def judge(
    examples: Sequence[Example], results: object, defined: set[str], module: str, granted: bool
) -> list[Example]:
    """Raise a Problem naming every failed example with what was expected and what came, or
    ExampleError when an example's own expected value could not be computed. Return the
    examples the sandbox could not judge in a module ``granted`` something (the sandbox
    refuses the files, network, processes and environment a grant allows): one that raised
    OSError, and any failed assert of the caller's (it may rely on the caller's files)."""
    reported = results if isinstance(results, list) else []
    failures = []
    unchecked = []
    for n, example in enumerate(examples):
        result = reported[n] if n < len(reported) else None
        if not isinstance(result, dict) or not all(isinstance(result.get(k), str) for k in _TEXTS):
            failures.append(f"- `{example.label}` ({example.origin}): was not run to its end")
            continue
        if result.get("passed") is True:
            continue
        if granted and (result["stage"] == "refused" or example.from_caller and example.op != "call"):
            unchecked.append(example)
            continue
        if result["stage"] == "expected" and not free_names([(example.expected, "eval")]) & defined:
            raise ExampleError(
                f"the expected value of the example {example.text!r} ({example.origin}) raised "
                f"{result['error']} whatever the module does. {_FIX}", module=module,
            )
        failures.append(f"- `{example.label}` ({example.origin}): {_failure(example, result)}")
    if failures:
        message = (
            f"the module does not do what its examples say: {len(failures)} of {len(examples)} failed "
            "(each runs against the module; change the module, not the examples):\n" + "\n".join(failures)
        )
        raise Problem(redact(message, prose=True), kind="examples")
    return unchecked


_TEXTS = ("actual", "expected", "error", "stage")


def _failure(example: Example, result: dict[str, Any]) -> str:
    """What went wrong, with the expected and the actual value where there are both."""
    stage, error, actual, expected = result["stage"], result["error"], result["actual"], result["expected"]
    if stage == "timeout":
        return f"did not finish within {TIME_LIMIT:g} s"
    if stage == "time-up":
        return "was not run to its end: the check's time for the import and every example was up"
    if stage == "setup":
        return f"its setup raised {error}"
    if stage == "refused":
        return f"raised {error} (the check's sandbox refuses files, network and processes; the module is granted none)"
    if stage == "expected":
        return f"got {actual}, and computing the expected value raised {error}"
    if example.op == "call" and example.expected:
        return f"raised {error}; it must not raise {example.expected}"
    if example.op == "call":
        return f"this call of the caller's raised {error}"
    if example.op == "raises":
        return f"expected {example.expected} to be raised, " + (f"got {error}" if error else "nothing was raised")
    if example.op == "output":
        return f"expected {expected}, " + (f"raised {error}" if error else f"got {actual}")
    if example.op == "truth":
        return f"raised {error}" if error else f"is false (the value: {actual})"
    want = expected or example.expected
    want = want if example.compare == "==" else f"a value {example.compare} {want}"
    if error and not actual:
        return f"expected {want}, raised {error}"
    return f"expected {want}, got {actual}" + (f" (comparing them raised {error})" if error else "")
