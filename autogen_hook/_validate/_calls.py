"""The caller's own calls as a specification: each must fit what the candidate defines.

Checked on the candidate's syntax tree, before anything runs: the number of positional
arguments and the keyword names (a stand-in with the same parameters and no annotations or
defaults is called the way the caller calls the name, so the message is Python's own),
``await`` for coroutine functions, ``async for`` for async generators, a plain ``for`` for
anything but ``async def``, a coroutine's result used as a value, and a generator's used as
a sequence. Definitions whose signature the tree cannot tell for sure (decorated ones, names
bound by imports or computed assignments, classes with bases or decorators) are left to the
sandbox, where each call with literal arguments is made for real (``_examples``).
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Sequence
from dataclasses import dataclass

from ._static import Problem, _top_level

_Definition = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda


@dataclass(frozen=True)
class Call:
    """One call of a requested name in the caller's file, and what is done with its result."""

    name: str  # the module's name that is called
    where: str  # "main.py, line 3"
    text: str  # the call as written
    positional: int
    keywords: tuple[str, ...]
    unpacked: bool  # *args or **kwargs in it: how many arguments is unknown
    use: str  # await, for, async for, sequence, operand, statement or value


def check_calls(tree: ast.Module, calls: Sequence[Call]) -> None:
    """Raise a Problem listing every call that does not fit the candidate's definitions."""
    definitions = _definitions(tree)
    misfits = []
    for call in calls:
        definition = definitions.get(call.name)
        reason = _misfit(call, definition) if definition is not None else None
        if reason:
            misfits.append(f"- {call.where}: `{call.text}`: {reason}")
    if misfits:
        raise Problem(
            "the caller's calls do not fit the module's signatures (the caller's code is given: "
            "change the module to fit it):\n" + "\n".join(misfits)
        )


def _definitions(tree: ast.Module) -> dict[str, _Definition | None]:
    """Each module-level name's last binding: a definition whose signature the tree shows,
    or None where it cannot (decorated, imported, computed)."""
    found: dict[str, _Definition | None] = {}
    for node in _top_level(tree.body):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found[node.name] = None if node.decorator_list else node
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for name in (n.id for n in ast.walk(target) if isinstance(n, ast.Name)):
                    plain = isinstance(target, ast.Name) and isinstance(node.value, ast.Lambda)
                    found[name] = node.value if plain else None  # type: ignore[assignment]
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            found.update(dict.fromkeys(((a.asname or a.name).split(".")[0] for a in node.names), None))
    return found


def _misfit(call: Call, definition: _Definition) -> str | None:
    """Why ``call`` cannot work with ``definition``, or None."""
    if not call.unpacked:
        parameters = _parameters(definition)
        if parameters is not None:
            message = _bind(call, parameters)
            if message:
                return message
    if isinstance(definition, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return _misused(call, isinstance(definition, ast.AsyncFunctionDef), _yields(definition))
    return None


def _parameters(definition: _Definition) -> ast.arguments | None:
    """The parameters a call binds to: a class's ``__init__`` without ``self``; a plain class
    takes none. None where that is not sure (bases, decorators, ``__new__``, a metaclass)."""
    if not isinstance(definition, ast.ClassDef):
        return definition.args
    if definition.bases or definition.keywords:
        return None
    methods = {n.name: n for n in definition.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    if "__new__" in methods or any(_assigns(n, "__init__") for n in definition.body):
        return None
    init = methods.get("__init__")
    if init is None:
        return ast.arguments(posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[])
    if init.decorator_list:
        return None
    parameters = copy.deepcopy(init.args)
    positional = parameters.posonlyargs or parameters.args
    if positional:
        positional.pop(0)  # self
    return parameters


def _assigns(node: ast.stmt, name: str) -> bool:
    return isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)


def _bind(call: Call, parameters: ast.arguments) -> str | None:
    """Python's own TypeError for this call of a stand-in with these parameters: no
    annotation and no default of the candidate's is evaluated, only names are kept."""
    bare = copy.deepcopy(parameters)
    for argument in (*bare.posonlyargs, *bare.args, *bare.kwonlyargs, bare.vararg, bare.kwarg):
        if argument is not None:
            argument.annotation = None
    bare.defaults = [ast.Constant(None) for _ in bare.defaults]
    bare.kw_defaults = [None if d is None else ast.Constant(None) for d in bare.kw_defaults]
    namespace: dict[str, object] = {}
    exec(compile(f"def {call.name}({ast.unparse(bare)}): pass", "<signature>", "exec"), namespace)
    stand_in = namespace[call.name]
    try:
        stand_in(*[None] * call.positional, **dict.fromkeys(call.keywords))  # type: ignore[operator]
    except TypeError as exc:
        return str(exc)
    return None


def _misused(call: Call, coroutine: bool, generator: bool) -> str | None:
    """A result used in a way the kind of function cannot give."""
    name = call.name
    if call.use == "await" and (not coroutine or generator):
        return f"it awaits {name}(), so {name} must be an `async def` without `yield` (a coroutine function)"
    if call.use == "async for" and (coroutine or generator) and not (coroutine and generator):
        return f"it iterates {name}() with `async for`, so {name} must be an async generator (`async def` with `yield`)"
    if call.use == "for" and coroutine:
        return (
            f"it iterates {name}() with a plain `for`, but {name} is `async def`: make it a plain "
            "function (a generator, or one that returns an iterable)"
        )
    if coroutine and not generator and call.use in ("statement", "sequence", "operand"):
        done = "discards its result" if call.use == "statement" else "uses its result as a value"
        return (
            f"it calls {name}() without `await` and {done}, but {name} is `async def` (the call "
            "would only make a coroutine): make it a plain function"
        )
    if generator and not coroutine and call.use == "sequence":
        return f"it uses the result of {name}() as a sequence (len() or an index), but {name} is a generator: return a list"
    return None


def _yields(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether ``yield`` is in the function's own body (not in a nested function or class)."""
    stack: list[ast.AST] = list(function.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            return True
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            stack.extend(ast.iter_child_nodes(node))
    return False
