"""The caller's side of a request: how the importing file uses the requested names.

Parsed with tree-sitter, which tolerates syntax errors elsewhere in the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from tree_sitter import Language, Node, Parser

MAX_USES = 40
_SCOPES = ("function_definition", "class_definition")


@dataclass(frozen=True)
class CallerUse:
    """One place the caller uses a requested name."""

    name: str
    line: int
    scope: str | None  # "Order.total" for a use inside a method, None at module level
    code: str  # the call with its arguments, or the statement using the name


@lru_cache(maxsize=1)
def python_parser() -> Parser:
    import tree_sitter_python

    return Parser(Language(tree_sitter_python.language()))


def find_uses(source: str, module: str, names: tuple[str, ...]) -> list[CallerUse]:
    """Every use of ``names`` (imported from ``module``) in ``source``, in file order."""
    root = python_parser().parse(source.encode("utf-8")).root_node
    imported, module_aliases = _bindings(root, module, set(names))
    uses: list[CallerUse] = []
    for node in _walk(root):
        name = _used_name(node, imported, module_aliases, names)
        if name is not None:
            uses.append(CallerUse(name, node.start_point[0] + 1, _scope(node), _use_text(node)))
            if len(uses) >= MAX_USES:
                break
    return uses


def _bindings(root: Node, module: str, names: set[str]) -> tuple[dict[str, str], set[str]]:
    """Local name -> requested name, and the local names bound to the module itself."""
    imported: dict[str, str] = {}
    module_aliases: set[str] = set()
    for node in _walk(root):
        if node.type == "import_from_statement":
            target = node.child_by_field_name("module_name")
            if target is None or _text(target) != module:
                continue
            for item in node.children_by_field_name("name"):
                original, local = _alias(item)
                if original in names:
                    imported[local] = original
        elif node.type == "import_statement":
            for item in node.children_by_field_name("name"):
                original, local = _alias(item)
                if original == module:
                    module_aliases.add(local)
    return imported, module_aliases


def _alias(item: Node) -> tuple[str, str]:
    if item.type == "aliased_import":
        name, alias = item.child_by_field_name("name"), item.child_by_field_name("alias")
        return _text(name), _text(alias)
    return _text(item), _text(item)


def _used_name(
    node: Node, imported: dict[str, str], module_aliases: set[str], names: tuple[str, ...]
) -> str | None:
    if node.type == "identifier" and _text(node) in imported and not _in_import(node):
        parent = node.parent
        if parent is not None and parent.type == "attribute" and parent.child_by_field_name(
            "attribute"
        ) == node:
            return None  # obj.slugify is someone else's slugify
        return imported[_text(node)]
    if node.type == "attribute":
        obj, attribute = node.child_by_field_name("object"), node.child_by_field_name("attribute")
        if obj is not None and attribute is not None and _text(obj) in module_aliases:
            name = _text(attribute)
            return name if name in names else None
    return None


def _in_import(node: Node) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.type in ("import_from_statement", "import_statement"):
            return True
        parent = parent.parent
    return False


def _use_text(node: Node) -> str:
    """The call around the name if it is called, else the statement holding it."""
    parent = node.parent
    if parent is not None and parent.type == "call" and parent.child_by_field_name("function") == node:
        return _clip(_text(parent))
    while parent is not None and not parent.type.endswith(("statement", "definition")):
        node, parent = parent, parent.parent
    return _clip(_text(parent if parent is not None else node))


def _scope(node: Node) -> str | None:
    names: list[str] = []
    parent = node.parent
    while parent is not None:
        if parent.type in _SCOPES:
            name = parent.child_by_field_name("name")
            if name is not None:
                names.append(_text(name))
        parent = parent.parent
    return ".".join(reversed(names)) or None


def _walk(root: Node) -> Iterator[Node]:
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(node.children))


def _text(node: Node | None) -> str:
    return node.text.decode("utf-8", "replace") if node is not None and node.text else ""


def _clip(text: str, limit: int = 300) -> str:
    text = "\n".join(line.rstrip() for line in text.splitlines())
    return text if len(text) <= limit else text[:limit] + " ..."
