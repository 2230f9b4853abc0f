"""Where a module's specification comes from: examples and the caller's own calls.

All optional and combined: the ``examples`` setting (``[tool.autogen-hook.examples]`` in
pyproject, ``describe(examples=...)``, ``install(examples=...)``), doctest lines in the
module's description, the examples recorded with the stored module when it is extended,
and the caller's file: its ``assert`` statements on the requested names (at module level or
in a function, as long as they use nothing but those names, builtins and standard-library
modules) and every call of the requested names; never a caller the context engine would not
read either (a secret file's name, configuration with secret keys). A pytest test's asserts
(:func:`examples_from_test`, ``path::name``) are the examples of the commands that name tests
(``regenerate --until-pass``, ``warm --tests``: ``_until_pass``), carried by
``Request.examples``. Cold path only: nothing here runs when a stored module is imported.
"""

from __future__ import annotations

import ast
import builtins
import copy
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace

from ._errors import ExampleError
from ._request import Request
from ._settings import FIELDS, Settings, pyproject_table
from ._store import Store, source_hash
from ._validate._calls import Call
from ._validate._examples import Behaviour, Example, applicable, doctest_examples, free_names, parse_example, provided
from .context import _display_name  # the caller's file as the prompt names it
from .context._files import secret_source

MAX_CALLS = 40  # calls of the caller's checked, in file order
MAX_TRIALS = 20  # of them made in the sandbox (literal arguments only)


def gather(request: Request, settings: Settings, store: Store, kept: set[str]) -> Behaviour:
    """The examples and calls a generation must satisfy (the request's own first: the asserts of
    named tests, a repair's failing call); ExampleError (before any model is asked) for an
    example that could never be
    evaluated."""
    module = request.module
    examples = [*_given(request), *module_examples(module, settings, request.description), *_recorded(store, module, kept)]
    calls: list[Call] = []
    caller = request.caller
    if caller is not None and caller.source and not secret_source(caller.filename, caller.source):
        shown = _display_name(caller.filename, settings.project_root)
        found, calls, trials = caller_spec(caller.source, shown, module, request.names)
        examples += [*found, *trials]
    now, later = applicable(examples, set(request.names) | kept, module)
    return Behaviour(now, tuple(calls), later)


def module_examples(module: str, settings: Settings, description: str | None) -> list[Example]:
    """The examples the project gives ``module``: the ``examples`` setting's entries, each
    named after its source, then the doctest lines of its description."""
    examples = _configured(module, settings)
    if description:
        examples += doctest_examples(description, f"the description of {module}", module)
    return examples


def _configured(module: str, settings: Settings) -> list[Example]:
    path = os.path.join(settings.project_root, "pyproject.toml")
    table = pyproject_table(settings.project_root).get("examples", {})
    in_pyproject = set(FIELDS["examples"][0](table, path).get(module, ()))
    examples = []
    for text in settings.examples.get(module, ()):
        origin = (
            f"[tool.autogen-hook.examples] of {path}" if text in in_pyproject
            else "describe(examples=...) or install(examples=...)"
        )
        examples += parse_example(text, origin, module)
    return examples


def _given(request: Request) -> list[Example]:
    """The request's own examples."""
    found = (Example.from_json(value) for value in request.examples)
    return [e for e in found if e is not None]


def _recorded(store: Store, module: str, kept: set[str]) -> list[Example]:
    """When a module is extended: the examples its stored source passed, if it is unchanged."""
    if not kept:
        return []
    try:
        recorded = store.metadata(module) or {}
        source = store.read(module)
    except Exception:  # noqa: BLE001 - metadata is a record; without it there is nothing to re-run
        return []
    if source is None or recorded.get("source_sha256") != source_hash(source):
        return []
    found = (Example.from_json(value) for value in recorded.get("examples", ()))
    return [e for e in found if e is not None]


def caller_spec(
    source: str, shown: str, module: str, names: Sequence[str]
) -> tuple[list[Example], list[Call], list[Example]]:
    """From the caller's source (nothing, if it does not parse): the asserts on ``names``, the
    calls of them, and those calls whose arguments are all literals, as examples of op
    ``call`` (they must not raise TypeError)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return [], [], []
    bindings = _Bindings.of(tree, module, set(names))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    calls: list[Call] = []
    trials: list[Example] = []
    for node in sorted((n for n in ast.walk(tree) if isinstance(n, ast.Call)), key=lambda n: (n.lineno, n.col_offset)):
        name = bindings.name_of(node.func)
        if name is None or len(calls) >= MAX_CALLS:
            continue
        call = _call(node, name, source, f"{shown}, line {node.lineno}", parents)
        calls.append(call)
        if _literal_arguments(node) and len(trials) < MAX_TRIALS:
            rewritten = ast.Call(ast.Name(name, ast.Load()), node.args, node.keywords)
            trials.append(Example(call.text, call.where, ast.unparse(rewritten), "call"))
    return _asserts(tree, bindings, shown, module), calls, trials


def examples_from_test(test: str, module: str, names: Sequence[str], root: str = "") -> list[Example]:
    """The asserts on ``names`` in a pytest test, ``path::name`` or ``path::Class::name`` (a
    bare path: every test of the file), the path relative to ``root`` (for ``--until-pass``
    and ``warm --tests``); ExampleError if there is no such test."""
    path, _, qualified = test.partition("::")
    try:
        with open(os.path.join(root, path), encoding="utf-8") as f:
            tree = ast.parse(f.read(), path)
    except (OSError, SyntaxError, ValueError) as exc:
        raise ExampleError(f"cannot read the test {test!r}: {exc}", module=module) from None
    scope: ast.AST = tree
    for part in qualified.split("::") if qualified else ():
        body = getattr(scope, "body", [])
        found = [n for n in body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n.name == part]
        if not found:
            raise ExampleError(f"the test {test!r} does not exist: {path} defines no {part!r} there", module=module)
        scope = found[-1]
    return _asserts(scope, _Bindings.of(tree, module, set(names)), path, module)


@dataclass(frozen=True)
class _Bindings:
    """How a file names the module's names: ``from M import a as b`` (b -> a), and the
    dotted names bound to the module itself (``import M as m``, ``from autogen import x``,
    ``import M``)."""

    names: dict[str, str]
    modules: frozenset[str]
    wanted: frozenset[str]

    @classmethod
    def of(cls, tree: ast.AST, module: str, wanted: set[str]) -> _Bindings:
        names: dict[str, str] = {}
        modules: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and not node.level:
                for alias in node.names:
                    if node.module == module and alias.name in wanted:
                        names[alias.asname or alias.name] = alias.name
                    elif f"{node.module}.{alias.name}" == module:
                        modules.add(alias.asname or alias.name)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name == module:
                        modules.add(alias.asname or alias.name)
        return cls(names, frozenset(modules), frozenset(wanted))

    def name_of(self, node: ast.expr) -> str | None:
        """The module's name ``node`` denotes, if it is one of those wanted."""
        if isinstance(node, ast.Name):
            return self.names.get(node.id)
        if isinstance(node, ast.Attribute) and node.attr in self.wanted and _dotted(node.value) in self.modules:
            return node.attr
        return None


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base is not None else None
    return None


_CONSUMERS = {"len"}  # builtins that need a sequence; every other builtin takes the value as such


def _call(node: ast.Call, name: str, source: str, where: str, parents: dict[ast.AST, ast.AST]) -> Call:
    text = ast.get_source_segment(source, node) or ast.unparse(node)
    return Call(
        name=name,
        where=where,
        text=text if len(text) <= 120 else text[:120] + " ...",
        positional=sum(not isinstance(a, ast.Starred) for a in node.args),
        keywords=tuple(k.arg for k in node.keywords if k.arg is not None),
        unpacked=any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords),
        use=_use(node, parents.get(node)),
    )


def _use(node: ast.Call, parent: ast.AST | None) -> str:
    """What the caller does with the call's result."""
    if isinstance(parent, ast.Await):
        return "await"
    if isinstance(parent, (ast.For, ast.AsyncFor)) and parent.iter is node:
        return "async for" if isinstance(parent, ast.AsyncFor) else "for"
    if isinstance(parent, ast.comprehension) and parent.iter is node:
        return "async for" if parent.is_async else "for"
    if isinstance(parent, ast.Subscript) and parent.value is node:
        return "sequence"
    if isinstance(parent, ast.Call) and node in parent.args and isinstance(parent.func, ast.Name):
        if parent.func.id in _CONSUMERS:
            return "sequence"
        return "operand" if parent.func.id in builtins.__dict__ else "value"
    if isinstance(parent, ast.Expr):
        return "statement"
    if isinstance(parent, (ast.BinOp, ast.Compare, ast.UnaryOp, ast.FormattedValue)) or (
        isinstance(parent, ast.Attribute) and parent.value is node
    ):
        return "operand"
    return "value"


def _literal_arguments(node: ast.Call) -> bool:
    """Every argument a literal (no unpacking): the call can be made as it is written."""
    if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
        return False
    try:
        for value in (*node.args, *(k.value for k in node.keywords)):
            ast.literal_eval(value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


class _Rewrite(ast.NodeTransformer):
    """The file's names for the module's names (``s``, ``tu.slugify``) become the module's own."""

    def __init__(self, bindings: _Bindings) -> None:
        self.bindings = bindings

    def visit_Name(self, node: ast.Name) -> ast.AST:  # noqa: N802 - NodeTransformer's naming
        real = self.bindings.names.get(node.id)
        return ast.copy_location(ast.Name(real, node.ctx), node) if real else node

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:  # noqa: N802
        real = self.bindings.name_of(node)
        if real is not None:
            return ast.copy_location(ast.Name(real, ast.Load()), node)
        return self.generic_visit(node)


def _asserts(scope: ast.AST, bindings: _Bindings, shown: str, module: str) -> list[Example]:
    """The asserts under ``scope`` that use a wanted name and nothing but those names,
    builtins and standard-library modules (an assert on the caller's own variables cannot be
    run apart from the caller)."""
    examples = []
    for node in sorted((n for n in ast.walk(scope) if isinstance(n, ast.Assert)), key=lambda n: n.lineno):
        test = _Rewrite(bindings).visit(copy.deepcopy(node.test))
        names = free_names([(ast.unparse(test), "eval")])
        if names & bindings.wanted and all(n in bindings.wanted or provided(n) for n in names):
            found = parse_example(ast.unparse(test), f"{shown}, line {node.lineno}", module)
            examples += [replace(e, from_caller=True) for e in found]
    return examples

