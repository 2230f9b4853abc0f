"""Definitions rendered for the prompt: signatures and summaries, not whole bodies.

A Python class becomes its header, docstring line, fields and method
signatures; a function its signature and docstring line (or all of it when it
is tiny); a constant its assignment. Other languages keep a definition's
header and the first line of each member. Only the definitions that are
rendered are read, redacted and parsed.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass

from tree_sitter import Node

from ._files import read_regular
from ._grammars import grammar_for
from ._index import Definition, Index, definition_nodes
from ._redact import credential_names, redact

MAX_LINES = 40  # per definition
_LINE = 120  # characters kept of a field or constant line
_TINY = 6  # a function this short (in lines) is sent whole


@dataclass(frozen=True)
class Snippet:
    """One definition as the prompt shows it."""

    path: str
    name: str
    text: str
    lines: tuple[int, int] = (0, 0)  # first and last line of the definition in its file


class Summaries:
    """Renders definitions of the project under ``root``; each one's text is redacted, with the
    names its whole file passes as credentials (``BANNER`` of ``login(user, BANNER)``).

    Renderings are cached in the index, so a warm request reads no source file.
    """

    def __init__(self, root: str, index: Index) -> None:
        self.root = root
        self.index = index
        self._lines: dict[str, list[str] | None] = {}
        self._credentials: dict[str, frozenset[str]] = {}

    def snippet(self, definition: Definition) -> Snippet | None:
        """``definition`` rendered, or None if it is no longer where the index saw it."""
        found, text = self.index.summary(definition)
        if not found:
            text = self._render(definition)
            self.index.remember(definition, text)
        if text is None:
            return None
        return Snippet(definition.path, definition.name, text, (definition.line, definition.end_line))

    def _render(self, definition: Definition) -> str | None:
        """Only the definition's own lines are redacted and parsed: a class in a
        3,000-line module costs what the class costs."""
        grammar = grammar_for(definition.path)
        lines = self._read(definition.path)
        if grammar is None or lines is None:
            return None
        text = redact("".join(lines[definition.line - 1 : definition.end_line]),
                      credentials=self.credentials(definition.path))
        root = grammar.parser().parse(text.encode("utf-8")).root_node
        node = next((n for name, _, n in definition_nodes(grammar, root) if name == definition.name), None)
        if node is None:
            return None
        render = _python if grammar.name == "python" else _generic
        return _cap(render(node))

    def credentials(self, path: str) -> frozenset[str]:
        """The upper-case names the file at ``path`` passes as credentials."""
        if path not in self._credentials:
            self._credentials[path] = credential_names("".join(self._read(path) or ()))
        return self._credentials[path]

    def _read(self, path: str) -> list[str] | None:
        if path not in self._lines:
            self._lines[path] = file_lines(os.path.join(self.root, path))
        return self._lines[path]


def file_lines(path: str) -> list[str] | None:
    """The lines of the file at ``path`` (universal newlines), None if it is no regular file."""
    data = read_regular(path)
    text = data.decode("utf-8", "replace") if data is not None else None
    return io.StringIO(text, newline=None).readlines() if text is not None else None


def _python(node: Node) -> str:
    decorators, inner = _undecorate(node)
    if inner.type == "class_definition":
        return "\n".join([*decorators, *_python_class(inner)])
    if inner.type == "function_definition":
        return "\n".join([*decorators, *_python_function(inner)])
    return _clip_statement(_text(node))


def _undecorate(node: Node) -> tuple[list[str], Node]:
    if node.type != "decorated_definition":
        return [], node
    decorators = [_text(c) for c in node.children if c.type == "decorator"]
    return decorators, node.child_by_field_name("definition") or node


def _python_class(node: Node) -> list[str]:
    body = node.child_by_field_name("body")
    lines = [_header(node, body)]
    doc = _docstring_line(body)
    if doc:
        lines.append(f'    """{doc}"""')
    for child in body.named_children if body is not None else ():
        decorators, inner = _undecorate(child)
        if inner.type == "function_definition":
            lines += [f"    {d}" for d in decorators]
            lines += [f"    {line}" for line in _signature(inner)]
        elif inner.type == "class_definition":
            lines.append(f"    {_header(inner, inner.child_by_field_name('body'))} ...")
        elif child.type == "expression_statement" and child.named_children and (
            child.named_children[0].type == "assignment"
        ):
            lines.append(f"    {_clip_statement(_text(child))}")
    attributes = _init_attributes(body)
    if attributes:
        lines.append(f"    # set in __init__: {', '.join(attributes)}")
    return lines


def _python_function(node: Node) -> list[str]:
    text = _text(node)
    if text.count("\n") < _TINY:
        return text.splitlines()
    return _signature(node)


def _signature(function: Node) -> list[str]:
    """``def name(...) -> T:`` with its docstring's first line, or ``: ...`` without one."""
    body = function.child_by_field_name("body")
    header = _header(function, body)
    doc = _docstring_line(body)
    return [header, f'    """{doc}"""'] if doc else [f"{header} ..."]


def _init_attributes(body: Node | None) -> list[str]:
    """Names of ``self.x = ...`` in ``__init__``: an instance's fields when no annotation lists them."""
    for child in body.named_children if body is not None else ():
        _, inner = _undecorate(child)
        name = inner.child_by_field_name("name")
        if inner.type == "function_definition" and name is not None and _text(name) == "__init__":
            found = dict.fromkeys(
                _text(left)
                for left in _assignment_targets(inner.child_by_field_name("body"))
                if _text(left).startswith("self.")
            )
            return list(found)
    return []


def _assignment_targets(body: Node | None) -> Iterator[Node]:
    for statement in body.named_children if body is not None else ():
        for child in statement.named_children if statement.type == "expression_statement" else ():
            left = child.child_by_field_name("left") if child.type == "assignment" else None
            if left is not None and left.type == "attribute":
                yield left


def _generic(node: Node) -> str:
    """Short definitions whole; longer ones as their header and each member's first line."""
    text = _text(node)
    if text.count("\n") < MAX_LINES // 4:
        return text
    body = node.child_by_field_name("body") or _last_named(node)
    if body is None or not body.named_children:
        return "\n".join(text.splitlines()[: MAX_LINES // 4] + ["..."])
    members = [f"  {_text(c).splitlines()[0].rstrip()}" for c in body.named_children if _text(c)]
    return "\n".join([_header(node, body) + " {", *members, "}"])


def _last_named(node: Node) -> Node | None:
    """The node's innermost last child: a Go type's field list, say."""
    child = node.named_children[-1] if node.named_children else None
    while child is not None and child.named_children and child.type not in (
        "field_declaration_list", "declaration_list", "class_body", "interface_body",
        "object_type", "enum_body", "enum_variant_list",
    ):
        child = child.named_children[-1]
    return child


def _header(node: Node, body: Node | None) -> str:
    """The text of ``node`` before its body: ``class Order(Base):``, ``func (o *Order) Total() int``."""
    source = node.text or b""
    end = body.start_byte - node.start_byte if body is not None else len(source)
    return source[:end].decode("utf-8", "replace").rstrip().rstrip("{").rstrip()


def _docstring_line(body: Node | None) -> str | None:
    first = body.named_children[0] if body is not None and body.named_children else None
    if first is None or first.type != "expression_statement" or not first.named_children:
        return None
    string = first.named_children[0]
    if string.type != "string":
        return None
    content = "".join(_text(c) for c in string.named_children if c.type == "string_content")
    line = next((ln.strip() for ln in content.splitlines() if ln.strip()), "")
    return line[:_LINE] or None


def _clip_statement(text: str) -> str:
    lines = text.splitlines()
    first = lines[0] if lines else ""
    if len(lines) == 1 and len(first) <= _LINE:
        return first
    return first[:_LINE] + " ..."


def _cap(text: str) -> str:
    lines = text.splitlines()
    return text if len(lines) <= MAX_LINES else "\n".join(lines[:MAX_LINES] + ["    ..."])


def _text(node: Node) -> str:
    return node.text.decode("utf-8", "replace") if node.text is not None else ""
