"""What runs when a candidate module is imported, and whether it only defines things.

Module-level statements, class bodies, decorators, default arguments, evaluated
annotations, ``except`` bodies, walrus expressions and loops run on import; so does
whatever local function, lambda or class (its special methods, a metaclass's
methods, a base's ``__init_subclass__``, enum's ``_sunder_`` hooks) that code calls
or hands to a call. Every call made there must be pure; anything else is reported
as needing ``import-time``.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from . import _capabilities as caps
from ._reach import Ref, Resolver, display, is_dunder, is_sunder, verdict
from ._scopes import ModuleInfo, Scope

_Function = ast.FunctionDef | ast.AsyncFunctionDef
Report = Callable[[ast.AST, str, str], None]  # (site, what it calls, through which local code)


@dataclass(frozen=True)
class _Via:
    """Where code running on import was started (a module-level node), and through what."""

    node: ast.AST
    chain: str = ""


class ImportTime:
    """Walks the code that runs on import and reports each call that acts."""

    def __init__(self, info: ModuleInfo, resolver: Resolver, report: Report) -> None:
        self.info = info
        self.resolver = resolver
        self.report = report
        self.executed: set[ast.AST] = set()

    def run(self) -> None:
        for statement in self.info.tree.body:
            self._statement(statement, self.info.root, None)

    def _statement(self, node: ast.stmt, scope: Scope, via: _Via | None) -> None:
        if node in self.info.skipped:
            return
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            self._decorators(node.decorator_list, scope, via)
            self._arguments(node.args, scope, via)
            if node.returns is not None and not self.info.future_annotations:
                self._expression(node.returns, scope, via)
        elif isinstance(node, ast.ClassDef):
            self._class(node, scope, via)
        elif isinstance(node, ast.If) and self.info.is_main_guard(node):
            for statement in node.orelse:
                self._statement(statement, scope, via)
        elif isinstance(node, ast.AnnAssign) and (
            self.info.future_annotations or scope.kind == "function"
        ):
            if node.value is not None:  # a local annotation is never evaluated
                self._expression(node.value, scope, via)
        else:
            for child in _children(node):
                if isinstance(child, ast.stmt):
                    self._statement(child, scope, via)
                elif isinstance(child, ast.expr):
                    self._expression(child, scope, via)

    def _decorators(self, decorators: list[ast.expr], scope: Scope, via: _Via | None) -> None:
        for decorator in decorators:
            self._expression(decorator, scope, via)
            self._called(decorator, scope, via, decorator)

    def _arguments(self, args: ast.arguments, scope: Scope, via: _Via | None) -> None:
        for default in [*args.defaults, *(d for d in args.kw_defaults if d is not None)]:
            self._expression(default, scope, via)
        if not self.info.future_annotations:
            for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
                if arg is not None and arg.annotation is not None:
                    self._expression(arg.annotation, scope, via)

    def _class(self, node: ast.ClassDef, scope: Scope, via: _Via | None) -> None:
        for expression in [*node.bases, *(k.value for k in node.keywords)]:
            self._expression(expression, scope, via)
        self._decorators(node.decorator_list, scope, via)
        for statement in node.body:
            self._statement(statement, self.info.scopes[node], via)
        site = via or _Via(node)
        for base in node.bases:  # a local base's __init_subclass__ runs now
            for ref in self.resolver.resolve(base, scope):
                if ref.kind == "class":
                    for method in self.resolver.methods(ref.node, "__init_subclass__"):  # type: ignore[arg-type]
                        self._function(method, site)
        for keyword in node.keywords:  # so do a local metaclass's methods
            if keyword.arg == "metaclass":
                for ref in self.resolver.resolve(keyword.value, scope):
                    if ref.kind == "class":
                        for method in self.resolver.methods(ref.node):  # type: ignore[arg-type]
                            self._function(method, site)
        for method in self.resolver.methods(node):  # hooks the class machinery calls
            if method.name in ("__set_name__", "__init_subclass__") or is_sunder(method.name):
                self._function(method, site)

    def _expression(self, node: ast.expr, scope: Scope, via: _Via | None) -> None:
        for inner in _evaluated(node):
            where = scope if inner is node else self.info.scope(inner)
            if isinstance(inner, ast.Call):
                self._call(inner, where, via)
            elif isinstance(inner, ast.Attribute) and isinstance(inner.ctx, ast.Load):
                self._attribute(inner, where, via)
            elif isinstance(inner, ast.Subscript) and isinstance(inner.ctx, ast.Load):
                for ref in self.resolver.resolve(inner.value, where):  # os.environ["X"] reads
                    if ref.kind == "object" and verdict(ref) not in (caps.PURE, caps.EFFECT):
                        self._acts(inner, via, display(ref))

    def _attribute(self, node: ast.Attribute, scope: Scope, via: _Via | None) -> None:
        """``obj.prop`` runs a property: any local method of that name is taken to run."""
        if any(
            r.kind in ("module", "object", "builtin")
            for r in self.resolver.resolve(node.value, scope)
        ):
            return
        for cls in self.info.classes:
            for method in self.resolver.methods(cls, node.attr):
                self._function(method, via or _Via(node))

    def _call(self, node: ast.Call, scope: Scope, via: _Via | None) -> None:
        site = via or _Via(node)
        for argument in [*node.args, *(k.value for k in node.keywords)]:
            if isinstance(argument, (ast.Name, ast.Attribute, ast.Lambda)):
                for ref in self.resolver.resolve(
                    argument, scope
                ):  # handed to code that may call it
                    self._callable(ref, site)
        self._called(node.func, scope, via, node)

    def _called(self, func: ast.expr, scope: Scope, via: _Via | None, node: ast.AST) -> None:
        """What runs when ``func`` is called on import."""
        site = via or _Via(node)
        for ref in self.resolver.resolve(func, scope):
            if ref.kind in ("def", "lambda"):
                self._callable(ref, site)
            elif ref.kind == "class":  # building an instance runs its special methods
                for method in self.resolver.methods(ref.node):  # type: ignore[arg-type]
                    if is_dunder(method.name) or is_sunder(method.name):
                        self._function(method, site)
            elif ref.kind == "self":
                for method in self.resolver.methods(ref.node, "__call__"):  # type: ignore[arg-type]
                    self._function(method, site)
            elif ref.kind == "object" and not caps.is_stdlib(ref.name):
                self._acts(node, via, f"the third-party {ref.name}")
            elif ref.kind in ("object", "builtin") and verdict(ref) != caps.PURE:
                self._acts(node, via, display(ref))
            elif ref.kind in ("unknown", "value"):
                self._unknown_callee(func, scope, site)

    def _unknown_callee(self, func: ast.expr, scope: Scope, site: _Via) -> None:
        """``make()()`` runs what ``make`` defines; ``TABLE[k]()`` what ``TABLE`` holds."""
        if isinstance(func, ast.Call):
            for ref in self.resolver.resolve(func.func, scope):
                if ref.kind == "def":
                    for statement in ref.node.body:  # type: ignore[union-attr]
                        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                            self._function(statement, site)
        base = func.value if isinstance(func, (ast.Subscript, ast.Attribute)) else func
        found = self.resolver.lookup(base.id, scope) if isinstance(base, ast.Name) else None
        for binding in found[1] if found else ():
            if binding.kind == "value" and binding.node is not None:
                for inner in ast.walk(binding.node):
                    if isinstance(inner, (ast.Name, ast.Lambda)):
                        for ref in self.resolver.resolve(inner):
                            self._callable(ref, site)

    def _callable(self, ref: Ref, site: _Via) -> None:
        if ref.kind == "def":
            self._function(ref.node, site)  # type: ignore[arg-type]
        elif ref.kind == "lambda" and ref.node not in self.executed:
            assert isinstance(ref.node, ast.Lambda)
            self.executed.add(ref.node)
            self._expression(ref.node.body, self.info.scopes[ref.node], site)

    def _function(self, node: _Function, site: _Via) -> None:
        if node in self.executed:
            return
        self.executed.add(node)
        via = _Via(site.node, f"{site.chain} -> {node.name}" if site.chain else node.name)
        for statement in node.body:
            self._statement(statement, self.info.scopes[node], via)

    def _acts(self, node: ast.AST, via: _Via | None, what: str) -> None:
        if via is None or not via.chain:
            self.report(via.node if via else node, what, "")
        else:
            self.report(via.node, f"{what} (line {getattr(node, 'lineno', 0)})", via.chain)


def _children(node: ast.stmt) -> Iterator[ast.AST]:
    """A statement's parts, with those of its except handlers, match cases and with items."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.excepthandler, ast.match_case, ast.withitem)):
            yield from (c for c in ast.iter_child_nodes(child) if not isinstance(c, ast.pattern))
        else:
            yield child


def _evaluated(node: ast.expr) -> Iterator[ast.AST]:
    """The nodes of ``node`` evaluated when it is: not a lambda's body."""
    yield node
    if isinstance(node, ast.Lambda):
        yield from (d for d in [*node.args.defaults, *node.args.kw_defaults] if d is not None)
        return
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.expr):
            yield from _evaluated(child)
        elif isinstance(child, ast.comprehension):
            for part in (child.iter, *child.ifs):
                yield from _evaluated(part)
        elif isinstance(child, ast.keyword):
            yield from _evaluated(child.value)
