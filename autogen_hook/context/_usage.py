"""What a codebase uses from the namespace: every import of a generated module and every name
taken from one, file by file (for ``autogen-hook warm`` and ``check``).

The files are the ones the context engine lists (``_files``: git's view of the project, no
hidden directories, virtual environments, the store or secret-named files), and only those
whose bytes mention the namespace are parsed: a file that never spells ``autogen`` imports
nothing from it. Each is read with tree-sitter, as the caller analysis reads the importing
file, so a syntax error elsewhere in a file hides none of its imports. Found:

* ``from autogen.x import a, b`` -- names a and b of autogen.x (``*`` names nothing);
* ``from autogen import x`` and ``import autogen.x as x``, then ``x.f`` -- name f of autogen.x;
* ``import autogen.a.b``, then ``autogen.a.b.f`` -- name f of the longest module imported
  (``autogen.a.g`` after ``import autogen.a``: name g of autogen.a, as Python resolves it).

Scopes are not followed (a local variable named like a module alias counts as the alias),
nor dynamic imports (``importlib.import_module("autogen.x")``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from tree_sitter import Node

from .._names import generatable, module_problem
from ._caller import _alias, _clip, _text, _walk, python_parser
from ._files import read_regular, source_files


@dataclass(frozen=True)
class Use:
    """What one file uses of one namespace module."""

    module: str
    path: str  # the file, relative to the project root
    line: int  # where it first imports or uses the module
    statement: str  # the statement there
    names: tuple[tuple[str, int], ...] = ()  # (name, line of its first use), in that order

    @property
    def used(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.names)


@dataclass(frozen=True)
class Scan:
    """Every use found, and how much was read to find them."""

    uses: tuple[Use, ...]
    files: int  # listed
    parsed: int  # mentioned the namespace, so parsed

    def by_module(self) -> dict[str, list[Use]]:
        modules: dict[str, list[Use]] = {}
        for use in self.uses:
            modules.setdefault(use.module, []).append(use)
        return dict(sorted(modules.items()))


def scan(root: str, namespace: str, excluded: Sequence[str] = (), paths: Sequence[str] = ()) -> Scan:
    """The namespace's uses in the Python files under ``root``, or under ``paths`` (files or
    directories, absolute or relative to the cwd) only; ``excluded``: directories never read."""
    wanted = [os.path.relpath(os.path.abspath(p), root) for p in paths]
    named = tuple(p for p in wanted if os.path.isfile(os.path.join(root, p)))
    files, _ = source_files(root, frozenset({".py"}), tuple(excluded), always=named)
    if wanted:
        files = [f for f in files if any(_within(f.path, p) for p in wanted)]
    needle = namespace.encode()
    uses: list[Use] = []
    parsed = 0
    for file in sorted(files, key=lambda f: f.path):  # the order requests are made in: the same each run
        data = read_regular(os.path.join(root, file.path))
        if data is not None and needle in data:
            parsed += 1
            uses += file_uses(data, namespace, file.path)
    return Scan(tuple(uses), len(files), parsed)


def _within(path: str, target: str) -> bool:
    return target == os.curdir or path == target or path.startswith(target.rstrip(os.sep) + os.sep)


@dataclass
class _Found:
    line: int
    statement: str
    names: dict[str, int] = field(default_factory=dict)


class _File:
    """The bindings of one file and what it uses through them."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.found: dict[str, _Found] = {}
        self.aliases: dict[str, str] = {}  # local name -> the namespace module it is bound to
        self.roots: set[str] = set()  # local names bound to the namespace package itself
        self.imported: set[str] = set()  # modules `import autogen.a.b` imported by full name

    def record(self, module: str, node: Node, name: str | None = None) -> None:
        if module_problem(module, self.namespace) is not None:
            return  # never served: private, not a module name
        line = node.start_point[0] + 1
        found = self.found.setdefault(module, _Found(line, _statement(node)))
        if name is not None and generatable(name):
            found.names.setdefault(name, line)

    def ours(self, module: str) -> bool:
        return module == self.namespace or module.startswith(self.namespace + ".")


def file_uses(source: bytes, namespace: str, path: str) -> list[Use]:
    """What the Python ``source`` of ``path`` uses from ``namespace``, one Use per module."""
    root = python_parser().parse(source).root_node
    seen = _File(namespace)
    nodes = list(_walk(root))
    for node in nodes:
        if node.type == "import_from_statement":
            _from_import(node, seen)
        elif node.type == "import_statement":
            _import(node, seen)
    for node in nodes:
        if node.type == "attribute":
            _attribute_use(node, seen)
    return [
        Use(module, path, found.line, found.statement, tuple(found.names.items()))
        for module, found in seen.found.items()
    ]


def _from_import(node: Node, seen: _File) -> None:
    target = node.child_by_field_name("module_name")
    if target is None or target.type != "dotted_name":
        return  # relative: never the namespace
    module = _text(target)
    for item in node.children_by_field_name("name"):
        original, local = _alias(item)
        if module == seen.namespace:  # from autogen import x: the module autogen.x
            seen.aliases[local] = f"{module}.{original}"
            seen.record(f"{module}.{original}", node)
        elif seen.ours(module):
            seen.record(module, node, original)
    if seen.ours(module) and module != seen.namespace:
        seen.record(module, node)  # from autogen.x import *: the module, no names


def _import(node: Node, seen: _File) -> None:
    for item in node.children_by_field_name("name"):
        original, local = _alias(item)
        if not seen.ours(original):
            continue
        if item.type == "aliased_import":  # import autogen.x as x (or autogen as ag)
            if original == seen.namespace:
                seen.roots.add(local)
            else:
                seen.aliases[local] = original
        else:  # import autogen.a.b binds autogen
            seen.roots.add(seen.namespace)
            if original != seen.namespace:
                seen.imported.add(original)
        if original != seen.namespace:
            seen.record(original, node)


def _attribute_use(node: Node, seen: _File) -> None:
    """``x.f`` or ``autogen.a.b.f``, read from the innermost attribute of the chain outwards."""
    head = node.child_by_field_name("object")
    if head is None or head.type != "identifier":
        return
    name = _text(head)
    chain = list(_outwards(node))
    if name in seen.aliases:
        seen.record(seen.aliases[name], node, chain[0])
    elif name in seen.roots:
        modules = [".".join([seen.namespace, *chain[: i + 1]]) for i in range(len(chain))]
        depth = max((i for i, m in enumerate(modules) if m in seen.imported), default=0)
        seen.record(modules[depth], node, chain[depth + 1] if depth + 1 < len(chain) else None)


def _outwards(node: Node) -> Iterator[str]:
    """The attribute names of the chain that ``node`` starts: ``a.b.c`` from ``a.b`` gives b, c."""
    current: Node | None = node
    while current is not None and current.type == "attribute":
        attribute = current.child_by_field_name("attribute")
        if attribute is None:
            return
        yield _text(attribute)
        parent = current.parent
        current = parent if parent is not None and parent.child_by_field_name("object") == current else None


def _statement(node: Node) -> str:
    """The statement holding ``node``, as written."""
    current: Node | None = node
    while current is not None and not current.type.endswith(("statement", "definition")):
        current = current.parent
    return _clip(_text(current if current is not None else node).strip())
