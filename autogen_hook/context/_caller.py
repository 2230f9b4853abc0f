"""The caller's side of a request: how the importing code uses the requested names.

Parsed with tree-sitter, which tolerates syntax errors elsewhere in the file:
a half-written caller still tells the model how it calls the new names.
Besides the uses themselves, this reads what the model needs to fit them: the
types of the arguments (from annotations, constructor assignments and
literals), the file's imports and its module docstring. The names those types
mention are the *focus* of the repo map: their definitions are sent first.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from tree_sitter import Language, Node, Parser

from .._state import cached

MAX_USES = 40
MAX_IMPORTS = 40
_SCOPES = ("function_definition", "class_definition")
_IMPORTS = ("import_from_statement", "import_statement", "future_import_statement")
_LITERALS = {
    "string": "str", "concatenated_string": "str", "integer": "int", "float": "float",
    "true": "bool", "false": "bool", "none": "None", "list": "list", "dictionary": "dict",
    "set": "set", "tuple": "tuple", "list_comprehension": "list",
    "dictionary_comprehension": "dict", "set_comprehension": "set",
}
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_Pairs = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class CallerUse:
    """One place the caller uses a requested name."""

    name: str
    line: int
    scope: str | None  # "Order.total" for a use inside a method, None at module level
    code: str  # the call with its arguments, or the statement using the name
    types: _Pairs = ()  # (argument or "result", its known type)
    results: _Pairs = ()  # (argument, the function whose result it is)


@dataclass(frozen=True)
class Imported:
    """One name the caller imports: ``from module import name``, or ``import module`` (name None)."""

    module: str  # as written, with leading dots for a relative import
    name: str | None


@dataclass(frozen=True)
class CallerFile:
    """What the importing code tells the model."""

    docstring: str | None
    imports: tuple[str, ...]  # the file's import statements, as written
    uses: tuple[CallerUse, ...]
    imported: tuple[Imported, ...] = ()
    statement: str | None = None  # the import of the requested module found in the source
    focus: tuple[str, ...] = ()  # names at the call sites: argument types, names passed


@cached(maxsize=1)
def python_parser() -> Parser:
    import tree_sitter_python

    return Parser(Language(tree_sitter_python.language()))


def analyse(source: str, module: str, names: tuple[str, ...]) -> CallerFile:
    """Everything ``source`` says about its use of ``names`` from ``module``."""
    root = python_parser().parse(source.encode("utf-8")).root_node
    imports = [n for n in _walk(root) if n.type in _IMPORTS]
    imported, module_aliases, statement = _bindings(imports, module, set(names))
    uses, focus = _uses(root, imported, module_aliases, names)
    return CallerFile(
        docstring=_docstring(root),
        imports=tuple(_clip(_text(n)) for n in imports if n.parent == root)[:MAX_IMPORTS],
        uses=tuple(uses),
        imported=tuple(_imported(imports)),
        statement=statement,
        focus=tuple(dict.fromkeys(focus)),
    )


def _uses(
    root: Node, imported: dict[str, str], module_aliases: set[str], names: tuple[str, ...]
) -> tuple[list[CallerUse], list[str]]:
    """Every use of ``names`` in file order (at most MAX_USES), and the names at their call sites."""
    uses: list[CallerUse] = []
    focus: list[str] = []
    for node in _walk(root):
        name = _used_name(node, imported, module_aliases, names)
        if name is not None:
            types, results, names_there = _call_site(node)
            line = node.start_point[0] + 1
            uses.append(CallerUse(name, line, _scope(node), _use_text(node), types, results))
            focus.extend(names_there)
            if len(uses) >= MAX_USES:
                break
    return uses, focus


def _bindings(
    imports: list[Node], module: str, names: set[str]
) -> tuple[dict[str, str], set[str], str | None]:
    """Local name -> requested name, local names bound to the module (``import autogen.x as x``,
    ``from autogen import x``), and the last import of it."""
    imported: dict[str, str] = {}
    module_aliases: set[str] = set()
    statement = None
    for node in imports:
        if node.type == "import_from_statement":
            source = _text(node.child_by_field_name("module_name"))
            for item in node.children_by_field_name("name"):
                original, local = _alias(item)
                if source == module and original in names:
                    imported[local] = original
                elif f"{source}.{original}" == module:
                    module_aliases.add(local)
                    statement = _text(node)
            if source == module:
                statement = _text(node)
        elif node.type == "import_statement":
            for item in node.children_by_field_name("name"):
                original, local = _alias(item)
                if original == module:
                    module_aliases.add(local)
                    statement = _text(node)
    return imported, module_aliases, statement


def _imported(imports: list[Node]) -> Iterator[Imported]:
    for node in imports:
        if node.type == "import_from_statement":
            target = node.child_by_field_name("module_name")
            for item in node.children_by_field_name("name"):
                yield Imported(_text(target), _alias(item)[0])
        elif node.type == "import_statement":
            for item in node.children_by_field_name("name"):
                yield Imported(_alias(item)[0], None)


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
        if parent.type in _IMPORTS:
            return True
        parent = parent.parent
    return False


def _call_of(node: Node) -> Node | None:
    """The call whose function is ``node``, if ``node`` is called."""
    parent = node.parent
    if parent is not None and parent.type == "call" and parent.child_by_field_name("function") == node:
        return parent
    return None


def _use_text(node: Node) -> str:
    """The call around the name if it is called, else the statement holding it."""
    call = _call_of(node)
    if call is not None:
        return _clip(_text(call))
    parent = node.parent
    while parent is not None and not parent.type.endswith(("statement", "definition")):
        node, parent = parent, parent.parent
    return _clip(_text(parent if parent is not None else node))


def _arguments(node: Node) -> list[tuple[Node, Node]]:
    """(argument as written, its value) for the call of ``node``; [] if it is not called."""
    call = _call_of(node)
    arguments = call.child_by_field_name("arguments") if call is not None else None
    pairs = []
    for argument in arguments.named_children if arguments is not None else ():
        value = argument.child_by_field_name("value") if argument.type == "keyword_argument" else argument
        if value is not None:
            pairs.append((argument, value))
    return pairs


def _call_site(node: Node) -> tuple[_Pairs, _Pairs, list[str]]:
    """What is known at the call of ``node``: the types of its arguments (then of the result it
    is bound to), the arguments that are what another function returned, and the names there
    whose definitions matter (each argument's type or function, then the argument itself)."""
    types: list[tuple[str, str]] = []
    results: list[tuple[str, str]] = []
    focus: list[str] = []
    for argument, value in _arguments(node):
        known = _type_of(value, value)
        if known is not None:
            text, is_type = known
            if is_type:
                types.append((_clip(_text(argument), 60), text))
            elif value.type != "call":  # a call written in place shows its function already
                results.append((_clip(_text(argument), 60), text))
            focus.extend(_IDENTIFIER.findall(text))
        if value.type in ("identifier", "attribute"):
            focus.append(_text(value).rsplit(".", 1)[-1])
    call = _call_of(node)
    parent = call.parent if call is not None else None
    if parent is not None and parent.type == "assignment" and parent.child_by_field_name("right") == call:
        annotation = parent.child_by_field_name("type")
        if annotation is not None:
            types.append(("result", _text(annotation)))
            focus.extend(_IDENTIFIER.findall(_text(annotation)))
    return tuple(types), tuple(results), focus


def _type_of(expression: Node, at: Node) -> tuple[str, bool] | None:
    """What ``expression`` is known to be at ``at``, and whether that is a type: a literal's
    type, a class it constructs, a binding's annotation; else the function whose result it is."""
    if expression.type in _LITERALS:
        return _LITERALS[expression.type], True
    if expression.type == "call":
        function = expression.child_by_field_name("function")
        if function is None or function.type not in ("identifier", "attribute"):
            return None
        callee = _text(function)
        return callee, _is_class(callee)
    if expression.type == "identifier":
        return _binding_type(_text(expression), at)
    return None


def _is_class(callee: str) -> bool:
    """``Order(...)`` and ``dict(...)`` construct; ``total_price(...)`` returns something else.
    Class names are CapWords (PEP 8), but for the built-in types."""
    name = callee.rsplit(".", 1)[-1]
    return name[:1].isupper() or name in _BUILTIN_TYPES


_BUILTIN_TYPES = frozenset(
    "bool bytearray bytes complex dict float frozenset int list object range set slice str tuple".split()
)


def _binding_type(name: str, at: Node) -> tuple[str, bool] | None:
    """The annotation or constructor of ``name`` in the scopes around ``at``, innermost first."""
    scope = at.parent
    while scope is not None:
        if scope.type == "function_definition" or scope.type == "module":
            found = _bound_in(scope, name)
            if found is not None:
                return found
        scope = scope.parent
    return None


def _bound_in(scope: Node, name: str) -> tuple[str, bool] | None:
    parameters = scope.child_by_field_name("parameters")
    for parameter in parameters.named_children if parameters is not None else ():
        if parameter.type in ("typed_parameter", "typed_default_parameter"):
            first = parameter.child_by_field_name("name") or parameter.named_children[0]
            annotation = parameter.child_by_field_name("type")
            if _text(first) == name and annotation is not None:
                return _text(annotation), True
    body = scope.child_by_field_name("body") if scope.type != "module" else scope
    constructed = None
    for node in _walk(body, skip=_SCOPES) if body is not None else ():
        if node.type != "assignment" or _text(node.child_by_field_name("left")) != name:
            continue
        annotation, right = node.child_by_field_name("type"), node.child_by_field_name("right")
        if annotation is not None:
            return _text(annotation), True
        if right is not None and constructed is None:
            constructed = _type_of(right, right) if right.type != "identifier" else None
    return constructed


def _docstring(root: Node) -> str | None:
    """The module docstring: the first statement, after any shebang, coding cookie or comment."""
    first = next((n for n in root.named_children if n.type != "comment"), None)
    if first is not None and first.type == "expression_statement" and first.named_children:
        string = first.named_children[0]
        if string.type == "string":
            return _clip(_text(string), 600)
    return None


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


def _walk(root: Node, skip: tuple[str, ...] = ()) -> Iterator[Node]:
    """Every node under ``root`` in source order, not entering nodes of the ``skip`` types."""
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        if node is root or node.type not in skip:
            stack.extend(reversed(node.children))


def _text(node: Node | None) -> str:
    return node.text.decode("utf-8", "replace") if node is not None and node.text else ""


def _clip(text: str, limit: int = 300) -> str:
    text = "\n".join(line.rstrip() for line in text.splitlines())
    return text if len(text) <= limit else text[:limit] + " ..."
