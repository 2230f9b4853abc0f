"""The policy's picture of a candidate module: its scopes, what each name is bound to, and
which code never runs (``if TYPE_CHECKING:`` bodies)."""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass, field


@dataclass(eq=False)
class Binding:
    """One way a name gets a value in a scope."""

    kind: str  # import | def | class | value | param | other
    target: str = ""  # imports: the dotted name bound
    node: ast.AST | None = None  # the definition, the assigned value, a parameter's annotation
    line: int = 0
    unconditional: bool = False  # at the module's top level, not inside if/try/for/with
    owner: ast.ClassDef | None = None  # params: the class whose method takes it as self/cls


@dataclass(eq=False)
class Scope:
    kind: str  # module | function | class | lambda | comprehension
    node: ast.AST
    parent: Scope | None
    bindings: dict[str, list[Binding]] = field(default_factory=dict)
    globals: set[str] = field(default_factory=set)
    nonlocals: set[str] = field(default_factory=set)

    def bind(self, name: str, binding: Binding) -> None:
        scope = self.module() if name in self.globals else self
        scope.bindings.setdefault(name, []).append(binding)

    def module(self) -> Scope:
        scope = self
        while scope.parent is not None:
            scope = scope.parent
        return scope

    def deferred(self) -> bool:
        """Code here runs when called, after the module has executed."""
        scope: Scope | None = self
        while scope is not None:
            if scope.kind in ("function", "lambda"):
                return True
            scope = scope.parent
        return False


class ModuleInfo:
    """A parsed candidate with its scopes, parents and the code that never runs."""

    def __init__(self, tree: ast.Module, source: str) -> None:
        self.tree = tree
        self.source = source
        self.root = Scope("module", tree, None)
        self.scopes: dict[ast.AST, Scope] = {tree: self.root}  # scope-opening node -> scope
        self.scope_of: dict[ast.AST, Scope] = {}  # node -> the scope that evaluates it
        self.parents: dict[ast.AST, ast.AST] = {}
        self.classes: list[ast.ClassDef] = []
        self.skipped: set[ast.AST] = set()  # never runs: TYPE_CHECKING blocks
        self.star_modules = [
            n.module
            for n in ast.walk(tree)
            if isinstance(n, ast.ImportFrom) and n.module and any(a.name == "*" for a in n.names)
        ]
        self.future_annotations = any(
            isinstance(n, ast.ImportFrom)
            and n.module == "__future__"
            and any(a.name == "annotations" for a in n.names)
            for n in tree.body
        )
        for node in ast.walk(tree):
            for child in ast.iter_child_nodes(node):
                self.parents[child] = node
        _ScopeBuilder(self).build()

    def scope(self, node: ast.AST) -> Scope:
        """The scope ``node`` is evaluated in."""
        current: ast.AST | None = node
        while current is not None:
            found = self.scope_of.get(current)
            if found is not None:
                return found
            current = self.parents.get(current)
        return self.root

    def code(self, node: ast.AST) -> str:
        """The code to quote for ``node``: the call a name is used in, else its own expression."""
        shown = node
        parent = self.parents.get(shown)
        while isinstance(parent, ast.Attribute) or (
            isinstance(parent, ast.Call) and parent.func is shown
        ):
            shown, parent = parent, self.parents.get(parent)
        segment = ast.get_source_segment(self.source, shown) if self.source else None
        text = " ".join((segment or ast.unparse(shown)).split())
        return text if len(text) <= 60 else text[:57] + "..."

    def is_main_guard(self, node: ast.If) -> bool:
        """``if __name__ == "__main__":`` never runs on import (unless __name__ is rebound)."""
        test = node.test
        if not (
            isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)
        ):
            return False
        sides = [test.left, *test.comparators]
        named = any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides)
        main = any(isinstance(s, ast.Constant) and s.value == "__main__" for s in sides)
        return named and main and "__name__" not in self.root.bindings


class _ScopeBuilder(ast.NodeVisitor):
    """Records every binding in every scope, and which scope evaluates each node."""

    def __init__(self, info: ModuleInfo) -> None:
        self.info = info
        self.scope = info.root
        self.depth = 0  # >0 inside if/try/for/while/with at the module's top level
        self.guards: list[tuple[ast.If, Scope]] = []

    def build(self) -> None:
        for statement in self.info.tree.body:
            self.visit(statement)
        for node, where in self.guards:  # once every binding of TYPE_CHECKING is known
            if _is_type_checking(node.test, where):
                for statement in node.body:
                    self.info.skipped.update(ast.walk(statement))

    def _mark(self, node: ast.AST) -> None:
        self.info.scope_of.setdefault(node, self.scope)

    def _enter(self, kind: str, node: ast.AST) -> Scope:
        scope = Scope(kind, node, self.scope)
        self.info.scopes[node] = scope
        return scope

    def _bind(
        self,
        name: str,
        kind: str,
        node: ast.AST | None = None,
        target: str = "",
        line: int = 0,
        owner: ast.ClassDef | None = None,
    ) -> None:
        unconditional = self.scope.kind == "module" and self.depth == 0
        self.scope.bind(name, Binding(kind, target, node, line, unconditional, owner))

    def _in(self, scope: Scope, node: ast.AST) -> None:
        """Visit ``node`` as evaluated in ``scope`` (annotations and defaults: the outer one)."""
        inner, self.scope = self.scope, scope
        self.visit(node)
        self.scope = inner

    def generic_visit(self, node: ast.AST) -> None:
        if isinstance(node, (ast.expr, ast.stmt)):
            self._mark(node)
        super().generic_visit(node)

    def _nested(self, node: ast.AST) -> None:
        self._mark(node)
        self.depth += 1
        super().generic_visit(node)
        self.depth -= 1

    visit_Try = visit_While = visit_With = visit_AsyncWith = visit_Match = _nested
    if sys.version_info >= (3, 11):
        visit_TryStar = _nested

    def visit_If(self, node: ast.If) -> None:
        self.guards.append((node, self.scope))
        self._nested(node)

    def visit_For(self, node: ast.For | ast.AsyncFor) -> None:
        self._mark(node)
        self.depth += 1
        self.visit(node.iter)
        self._targets(node.target, None)
        for statement in [*node.body, *node.orelse]:
            self.visit(statement)
        self.depth -= 1

    visit_AsyncFor = visit_For  # type: ignore[assignment]

    def visit_Import(self, node: ast.Import) -> None:
        self._mark(node)
        for alias in node.names:
            if alias.asname:
                self._bind(alias.asname, "import", target=alias.name, line=node.lineno)
            else:
                top = alias.name.partition(".")[0]
                self._bind(top, "import", target=top, line=node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        self._mark(node)
        if node.level or not node.module:
            return
        for alias in node.names:
            if alias.name != "*":
                self._bind(
                    alias.asname or alias.name,
                    "import",
                    target=f"{node.module}.{alias.name}",
                    line=node.lineno,
                )

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self._mark(node)
        args = node.args
        for expression in [
            *node.decorator_list,
            *args.defaults,
            *(d for d in args.kw_defaults if d),
        ]:
            self.visit(expression)
        owner = self.scope.node if self.scope.kind == "class" else None
        self._bind(node.name, "def", node, line=node.lineno)
        outer = self.scope
        self.scope = self._enter("function", node)
        static = any(
            isinstance(d, ast.Name) and d.id == "staticmethod" for d in node.decorator_list
        )
        self._arguments(args, outer, None if static else owner)  # type: ignore[arg-type]
        if node.returns is not None:
            self._in(outer, node.returns)
        depth, self.depth = self.depth, 0
        for statement in node.body:
            self.visit(statement)
        self.depth = depth
        self.scope = outer

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def _arguments(self, args: ast.arguments, outer: Scope, owner: ast.ClassDef | None) -> None:
        positional = [*args.posonlyargs, *args.args]
        for arg in [*positional, *args.kwonlyargs, args.vararg, args.kwarg]:
            if arg is None:
                continue
            if arg.annotation is not None:
                self._in(outer, arg.annotation)
            first = bool(positional) and arg is positional[0] and owner is not None
            self._bind(
                arg.arg, "param", arg.annotation, line=arg.lineno, owner=owner if first else None
            )

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._mark(node)
        for default in [*node.args.defaults, *(d for d in node.args.kw_defaults if d)]:
            self.visit(default)
        outer = self.scope
        self.scope = self._enter("lambda", node)
        self._arguments(node.args, outer, None)
        self.visit(node.body)
        self.scope = outer

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._mark(node)
        self.info.classes.append(node)
        for expression in [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]:
            self.visit(expression)
        self._bind(node.name, "class", node, line=node.lineno)
        outer = self.scope
        self.scope = self._enter("class", node)
        depth, self.depth = self.depth, 0
        for statement in node.body:
            self.visit(statement)
        self.depth = depth
        self.scope = outer

    def _comprehension(
        self, node: ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp
    ) -> None:
        self._mark(node)
        self.visit(node.generators[0].iter)  # evaluated in the enclosing scope
        outer = self.scope
        self.scope = self._enter("comprehension", node)
        for index, generator in enumerate(node.generators):
            if index:
                self.visit(generator.iter)
            self._targets(generator.target, None)
            for condition in generator.ifs:
                self.visit(condition)
        for part in ("elt", "key", "value"):
            if hasattr(node, part):
                self.visit(getattr(node, part))
        self.scope = outer

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _comprehension

    def visit_Global(self, node: ast.Global) -> None:
        self.scope.globals.update(node.names)

    def visit_Nonlocal(self, node: ast.Nonlocal) -> None:
        self.scope.nonlocals.update(node.names)
        enclosing = self.scope.parent
        while enclosing is not None and enclosing.kind == "class":
            enclosing = enclosing.parent
        if enclosing is not None:
            for name in node.names:
                enclosing.bindings.setdefault(name, []).append(Binding("other", line=node.lineno))

    def visit_Assign(self, node: ast.Assign) -> None:
        self._mark(node)
        self.visit(node.value)
        for target in node.targets:
            self._targets(target, node.value)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._mark(node)
        if node.value is not None:
            self.visit(node.value)
        self.visit(node.annotation)
        self._targets(node.target, node.value, node.annotation)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._mark(node)
        self.visit(node.value)
        self._targets(node.target, None)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self._mark(node)
        self.visit(node.value)
        self._mark(node.target)
        scope = self.scope
        while scope.kind == "comprehension" and scope.parent is not None:
            scope = scope.parent  # a walrus binds in the enclosing function or module
        inner, self.scope = self.scope, scope
        self._bind(node.target.id, "value", node.value, line=node.lineno)
        self.scope = inner

    def _targets(
        self, target: ast.AST, value: ast.AST | None, annotation: ast.AST | None = None
    ) -> None:
        if isinstance(target, ast.Name):
            self._mark(target)
            if value is not None:
                self._bind(target.id, "value", value, line=target.lineno)
            elif annotation is not None:  # ``x: Path`` - an instance of Path
                self._bind(target.id, "param", annotation, line=target.lineno)
            else:
                self._bind(target.id, "other", line=target.lineno)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._targets(element, None)
        elif isinstance(target, ast.Starred):
            self._targets(target.value, None)
        else:
            self.visit(target)  # attributes and subscripts: their parts are evaluated

    def visit_withitem(self, node: ast.withitem) -> None:
        self.visit(node.context_expr)
        if node.optional_vars is not None:
            self._targets(node.optional_vars, None)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.type is not None:
            self.visit(node.type)
        if node.name:
            self._bind(node.name, "other", line=node.lineno)
        for statement in node.body:
            self.visit(statement)

    def visit_MatchAs(self, node: ast.MatchAs) -> None:
        if node.name:
            self._bind(node.name, "other", line=node.lineno)
        self.generic_visit(node)

    def visit_MatchStar(self, node: ast.MatchStar) -> None:
        if node.name:
            self._bind(node.name, "other", line=node.lineno)

    def visit_MatchMapping(self, node: ast.MatchMapping) -> None:
        if node.rest:
            self._bind(node.rest, "other", line=node.lineno)
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        self._mark(node)


def _is_type_checking(test: ast.expr, scope: Scope) -> bool:
    """``if TYPE_CHECKING:`` (typing's, or a module constant False) never runs."""
    if isinstance(test, ast.Attribute):
        return (
            test.attr == "TYPE_CHECKING"
            and isinstance(test.value, ast.Name)
            and test.value.id == "typing"
        )
    if not (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING"):
        return False
    bindings = scope.module().bindings.get("TYPE_CHECKING", [])
    return bool(bindings) and all(
        (
            b.kind == "import"
            and b.target in ("typing.TYPE_CHECKING", "typing_extensions.TYPE_CHECKING")
        )
        or (b.kind == "value" and isinstance(b.node, ast.Constant) and b.node.value is False)
        for b in bindings
    )
