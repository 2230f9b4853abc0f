"""Type stubs of the stored modules, so that mypy and Pyright resolve ``from autogen.x import f``.

``<store>/.stubs/autogen/x.pyi`` holds each stored module's signatures: its imports,
classes, functions (decorators, annotations and docstrings kept, bodies and default values
replaced by ``...``), constants and annotated names, ``if`` blocks as they are and the
``try`` body of an optional import. The directory is rewritten whole each time (a module
removed from the store loses its stub) and is local (its .gitignore holds ``*``): run
``autogen-hook stubs`` after a checkout, or set ``stubs = true`` so that ``warm`` and
``regenerate`` refresh it. Point the checkers at it: ``mypy_path = ".autogen/.stubs"``,
Pyright's ``stubPath = ".autogen/.stubs"``.
"""

from __future__ import annotations

import ast
import os

from ._atomic import write_atomic
from ._inventory import StoredModule, stored_modules
from ._settings import Settings

DIRECTORY = ".stubs"
_HEADER = "# Written by `autogen-hook stubs` from {path}: the stored module's signatures. Do not edit.\n"
_IGNORE_ALL = "# Written by autogen-hook: stubs are made from the store (autogen-hook stubs).\n*\n"
_AS_THEY_ARE = (ast.Import, ast.ImportFrom, ast.Assign, *filter(None, [getattr(ast, "TypeAlias", None)]))


def stubs_dir(settings: Settings) -> str:
    return os.path.join(settings.store_dir, DIRECTORY)


def write_stubs(settings: Settings) -> list[str]:
    """Write the stub package of every stored module, and remove the stubs of modules no longer
    stored; the files written."""
    modules = stored_modules(settings)
    root = stubs_dir(settings)
    parents = {m.module.rpartition(".")[0] for m in modules}
    packages = {".".join(p.split(".")[: i + 1]) for p in parents for i in range(p.count(".") + 1)}
    written = [_write(root, package, True, "") for package in sorted(packages - {m.module for m in modules})]
    written += [_write(root, m.module, m.module in packages, _stub_of(m)) for m in modules]
    marker = os.path.join(root, ".gitignore")
    if written:
        write_atomic(marker, _IGNORE_ALL)
    _remove_others(root, {*written, marker})
    return sorted(written)


def _remove_others(root: str, kept: set[str]) -> None:
    for folder, _, files in os.walk(root, topdown=False):
        for name in files:
            if os.path.join(folder, name) not in kept:
                os.unlink(os.path.join(folder, name))
        if folder != root and not os.listdir(folder):
            os.rmdir(folder)


def _write(root: str, module: str, package: bool, text: str) -> str:
    parts = module.split(".")
    path = os.path.join(root, *parts, "__init__.pyi") if package else os.path.join(root, *parts) + ".pyi"
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write_atomic(path, text)
    return path


def _stub_of(stored: StoredModule) -> str:
    header = _HEADER.format(path=os.path.basename(stored.path))
    try:
        tree = ast.parse(stored.source)
    except SyntaxError:
        return header + "# The stored module does not parse: nothing to declare.\n"
    tree.body = _declarations(tree.body)
    return header + ast.unparse(tree) + "\n"


def _declarations(body: list[ast.stmt]) -> list[ast.stmt]:
    """What a stub keeps of ``body``: every declaration, no statement that only acts."""
    kept: list[ast.stmt] = []
    for index, node in enumerate(body):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            node.body = [*_docstring(node.body), ast.Expr(ast.Constant(...))]
            _no_defaults(node.args)
            kept.append(node)
        elif isinstance(node, ast.ClassDef):
            node.body = _declarations(node.body) or [ast.Expr(ast.Constant(...))]
            kept.append(node)
        elif isinstance(node, ast.AnnAssign):
            node.value = ast.Constant(...) if node.value is not None else None
            kept.append(node)
        elif isinstance(node, _AS_THEY_ARE):
            kept.append(node)
        elif isinstance(node, ast.If):
            node.body = _declarations(node.body) or [ast.Pass()]
            node.orelse = _declarations(node.orelse)
            kept.append(node)
        elif isinstance(node, ast.Try):
            kept += _declarations(node.body)
        elif index == 0 and _is_docstring(node):
            kept.append(node)
    return kept


def _docstring(body: list[ast.stmt]) -> list[ast.stmt]:
    return body[:1] if body and _is_docstring(body[0]) else []


def _is_docstring(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def _no_defaults(arguments: ast.arguments) -> None:
    arguments.defaults = [ast.Constant(...) for _ in arguments.defaults]
    arguments.kw_defaults = [None if d is None else ast.Constant(...) for d in arguments.kw_defaults]
