"""The safety policy: what generated code may not do unless the project allows it.

Two rules, both checked on the syntax tree:

* importing the module only defines things: no module-level calls, loops or
  ``with`` blocks that would act on import (``if __name__ == "__main__"`` is fine),
  and no values built at module level by calls that act on the outside world
  (``_ACTING``: files, sockets, dynamic attribute access);
* no use of process control, code execution or unsafe deserialisation
  (``DENIED``), unless a setting ``allow`` entry names it.

This is a guard rail against accidents in generated code, not a sandbox.
"""

from __future__ import annotations

import ast
import fnmatch
from collections.abc import Iterator

from ._static import Problem

DENIED = (
    "eval",
    "exec",
    "compile",
    "__import__",
    "breakpoint",
    "os.system",
    "os.popen",
    "os.exec*",
    "os.spawn*",
    "os.posix_spawn*",
    "os.fork*",
    "os.kill*",
    "subprocess",
    "pty",
    "ctypes",
    "shutil.rmtree",
    "importlib.import_module",
    "pickle.load*",
    "marshal.load*",
)
_ACTIVE_AT_MODULE_LEVEL = (ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Match)
_ACTING = (  # calls that act rather than compute: refused in module-level values
    "open",
    "setattr",
    "delattr",
    "input",
    "os.remove",
    "os.unlink",
    "os.rmdir",
    "os.removedirs",
    "os.rename*",
    "os.replace",
    "os.truncate",
    "os.ch*",
    "os.mkdir",
    "os.makedirs",
    "os.symlink",
    "os.link",
    "os.open",
    "os.write",
    "os.putenv",
    "os.unsetenv",
    "shutil.copy*",
    "shutil.move",
    "shutil.rmtree",
    "shutil.chown",
    "shutil.*archive",
    "socket.socket",
    "socket.create_*",
    "socket.socketpair",
    "urllib.request",
    "http.client",
)
_VALUE_STATEMENTS = (ast.Assign, ast.AnnAssign, ast.AugAssign)


def check_policy(tree: ast.Module, allow: tuple[str, ...]) -> None:
    aliases = _aliases(tree)
    _check_module_level(tree.body)
    _check_module_level_values(tree.body, aliases, allow)
    own = {  # the module's own functions may shadow a builtin such as compile()
        n.name: n.name
        for n in ast.walk(tree)
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    }
    aliases = {**aliases, **{k: f"<module>.{v}" for k, v in own.items()}}
    for node in ast.walk(tree):
        for name, lineno in _used_names(node, aliases):
            rule = _denied_by(name)
            if rule and not any(_matches(name, a) for a in allow):
                raise Problem(
                    f"line {lineno}: uses {name}, which the safety policy forbids "
                    f"(rule {rule!r}); do without it"
                )


def _check_module_level(body: list[ast.stmt]) -> None:
    for node in body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            raise Problem(
                f"line {node.lineno}: the module-level call {ast.unparse(node.value)[:60]!r} would "
                "run on import; importing must only define things, so move it into a function"
            )
        if isinstance(node, _ACTIVE_AT_MODULE_LEVEL):
            raise Problem(
                f"line {node.lineno}: a module-level {type(node).__name__.lower()} statement "
                "would run on import; build values with expressions or inside functions"
            )
        if isinstance(node, ast.If) and not _is_main_guard(node):
            _check_module_level(node.body + node.orelse)
        elif isinstance(node, ast.Try):
            _check_module_level(node.body + node.orelse + node.finalbody)
            for handler in node.handlers:
                _check_module_level(handler.body)


def _check_module_level_values(
    body: list[ast.stmt], aliases: dict[str, str], allow: tuple[str, ...]
) -> None:
    """``_gone = os.remove(path)`` acts on import as surely as a bare call does."""
    for expression in _evaluated_on_import(body):
        for call in _walk_outside_lambdas(expression):
            for name, lineno in _used_names(call, aliases):
                acting = any(_matches(name, rule) for rule in _ACTING) or _dynamic_getattr(call)
                if acting and not any(_matches(name, a) for a in allow):
                    raise Problem(
                        f"line {lineno}: a value computed on import calls {name}, which acts; "
                        "importing must only define things, so call it inside a function"
                    )


def _walk_outside_lambdas(node: ast.AST) -> Iterator[ast.AST]:
    """``ast.walk`` without lambda bodies: ``{".txt": lambda p: open(p).read()}`` opens nothing."""
    yield node
    for child in ast.iter_child_nodes(node):
        if not isinstance(child, ast.Lambda):
            yield from _walk_outside_lambdas(child)


def _evaluated_on_import(body: list[ast.stmt]) -> Iterator[ast.expr]:
    """Assigned values, default arguments, decorators, base classes, class bodies' values."""
    for node in body:
        if isinstance(node, _VALUE_STATEMENTS) and node.value is not None:
            yield node.value
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield from node.decorator_list
            yield from node.args.defaults
            yield from (default for default in node.args.kw_defaults if default is not None)
        elif isinstance(node, ast.ClassDef):
            yield from node.decorator_list
            yield from node.bases
            yield from (keyword.value for keyword in node.keywords)
            yield from _evaluated_on_import(node.body)
        elif isinstance(node, ast.If) and not _is_main_guard(node):
            yield from _evaluated_on_import(node.body + node.orelse)
        elif isinstance(node, ast.Try):
            yield from _evaluated_on_import(node.body + node.orelse + node.finalbody)


def _dynamic_getattr(node: ast.AST) -> bool:
    """``getattr(os, "sys" + "tem")`` reaches what the rules name; a constant name is fine."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "getattr"
        and len(node.args) >= 2
        and not isinstance(node.args[1], ast.Constant)
    )


def _is_main_guard(node: ast.If) -> bool:
    test = node.test
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators)
    )


def _aliases(tree: ast.Module) -> dict[str, str]:
    """Local name -> dotted name it was imported as (``from os import system as s``: s -> os.system)."""
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                local = a.asname or a.name.split(".")[0]
                aliases[local] = a.name if a.asname else local
        elif isinstance(node, ast.ImportFrom) and node.module:
            for a in node.names:
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"
    return aliases


def _used_names(node: ast.AST, aliases: dict[str, str]) -> list[tuple[str, int]]:
    """Dotted names a node imports or calls."""
    if isinstance(node, ast.Import):
        return [(a.name, node.lineno) for a in node.names]
    if isinstance(node, ast.ImportFrom) and node.module:
        return [(f"{node.module}.{a.name}", node.lineno) for a in node.names] + [
            (node.module, node.lineno)
        ]
    if isinstance(node, ast.Call):
        dotted = _dotted(node.func)
        if dotted:
            head, _, rest = dotted.partition(".")
            resolved = aliases.get(head, head)
            return [(f"{resolved}.{rest}" if rest else resolved, node.lineno)]
    return []


def _dotted(node: ast.AST) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


def _denied_by(name: str) -> str | None:
    return next((rule for rule in DENIED if _matches(name, rule)), None)


def _matches(name: str, rule: str) -> bool:
    """``subprocess`` covers ``subprocess.run``; ``os.exec*`` covers ``os.execv``; ``*`` covers all."""
    return fnmatch.fnmatchcase(name, rule) or name.startswith(rule + ".")
