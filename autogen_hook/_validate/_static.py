"""Checks that only read the code: it parses, compiles, defines the names, imports what exists."""

from __future__ import annotations

import ast
import importlib.util


class Problem(Exception):
    """One thing wrong with a candidate module; the message goes back to the model and into
    the final error, so it is kept short whatever the reply was (a 2 MB line, say)."""

    LINE, TOTAL = 300, 1500  # characters

    def __init__(self, message: str, total: int = TOTAL, kind: str = "validation") -> None:
        self.kind = kind  # which check refused: policy, check (the sandboxed import), examples,
        # validation (everything else); the audit log's decision is refused-<kind>
        lines = [ln if len(ln) <= self.LINE else ln[: self.LINE] + " ..." for ln in message.splitlines()]
        text = "\n".join(lines)
        super().__init__(text if len(text) <= total else text[:total] + "\n...")


def parse(code: str, filename: str) -> ast.Module:
    """Parse and compile ``code``, or raise a Problem naming the line."""
    try:
        tree = ast.parse(code, filename)
        compile(tree, filename, "exec")
    except SyntaxError as exc:
        text = (exc.text or "").strip()
        where = f"line {exc.lineno}: " if exc.lineno else ""
        raise Problem(f"{where}{exc.msg}" + (f": {text!r}" if text else "")) from None
    except ValueError as exc:  # e.g. null bytes
        raise Problem(f"the code does not compile: {exc}") from None
    return tree


def top_level_names(tree: ast.Module, imports: bool = True) -> set[str]:
    """Names bound at module level, including inside top-level if/try blocks; ``imports=False``
    leaves out the names imports bind (what the module itself defines)."""
    names: set[str] = set()
    for node in _top_level(tree.body):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)) and imports:
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return names


def _top_level(body: list[ast.stmt]) -> list[ast.stmt]:
    nodes: list[ast.stmt] = []
    for node in body:
        nodes.append(node)
        if isinstance(node, ast.If):
            nodes += _top_level(node.body) + _top_level(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                nodes += _top_level(block)
    return nodes


def check_names(tree: ast.Module, required: tuple[str, ...], kept: frozenset[str]) -> None:
    """Every requested name is defined, and an extended module keeps what it had."""
    defined = top_level_names(tree)
    missing = [n for n in required if n not in defined]
    if missing:
        raise Problem(
            "these requested names are not defined at module level: " + ", ".join(missing)
        )
    lost = sorted(kept - defined)
    if lost:
        raise Problem(
            "the module must keep every name it already had, but these are gone: "
            + ", ".join(lost)
        )


def check_imports(tree: ast.Module, namespace: str) -> None:
    """Every import names an installed module (optional imports under try/except excepted)."""
    optional = _optional_imports(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            raise Problem(f"line {node.lineno}: relative imports are not allowed here")
        if not isinstance(node, (ast.Import, ast.ImportFrom)) or node in optional:
            continue
        modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
        for module in modules:
            top = (module or "").split(".")[0]
            if top == namespace:
                raise Problem(
                    f"line {node.lineno}: imports from the generated namespace {namespace!r} "
                    "are not allowed; write what you need inside this module"
                )
            if top and not _importable(top):
                raise Problem(
                    f"line {node.lineno}: imports {module!r}, which is not installed here; use "
                    "the standard library or one of the installed packages listed in the request"
                )


def _importable(top: str) -> bool:
    try:
        return importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        return False


def _optional_imports(tree: ast.Module) -> set[ast.AST]:
    """Imports inside ``try`` blocks that catch ImportError (the code copes without them) and
    under ``if TYPE_CHECKING:`` (they never run)."""
    caught = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}
    optional: set[ast.AST] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _names_type_checking(node.test):
            optional.update(
                n for s in node.body for n in ast.walk(s) if isinstance(n, (ast.Import, ast.ImportFrom))
            )
        if not isinstance(node, ast.Try):
            continue
        handled: set[str] = set()
        for handler in node.handlers:
            if handler.type is None:
                handled |= caught
            else:
                handled |= {n.id for n in ast.walk(handler.type) if isinstance(n, ast.Name)}
        if handled & caught:
            for stmt in node.body:
                optional.update(
                    n for n in ast.walk(stmt) if isinstance(n, (ast.Import, ast.ImportFrom))
                )
    return optional


def _names_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )
