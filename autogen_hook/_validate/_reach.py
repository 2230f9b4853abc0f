"""What a name in a candidate module denotes, and what the tables say it may do.

Names are followed the way Python binds them: through imports and aliases,
re-binding, attribute chains through the real standard-library modules
(``logging.os.system`` is ``os.system``), ``getattr`` with a constant name,
parameters' annotations and instances of known classes.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import importlib.util
import sys
from dataclasses import dataclass
from types import ModuleType

from .._state import STATE, cached
from . import _capabilities as caps
from ._scopes import Binding, ModuleInfo, Scope

MISSING = object()  # not known: the module was not imported to be analysed
ABSENT = object()  # known not to be there: the real module has no such attribute


@dataclass(frozen=True)
class Ref:
    """What an expression may denote."""

    kind: (
        str  # module | object | builtin | def | class | lambda | instance | self | value | unknown
    )
    name: str = ""  # dotted name (a module, an object, a builtin, an instance's class)
    node: ast.AST | None = None  # the local definition or class; a value's expression
    real: object = MISSING  # the object a standard-library name denotes, where imported


UNKNOWN = Ref("unknown")


class Resolver:
    """Resolves expressions of one module to the refs they may denote."""

    def __init__(self, info: ModuleInfo) -> None:
        self.info = info
        self._resolving: set[Binding] = set()  # x = y; y = x

    def resolve(self, node: ast.AST, scope: Scope | None = None, depth: int = 0) -> list[Ref]:
        """What ``node`` may denote, evaluated in ``scope`` (default: where it stands)."""
        scope = scope or self.info.scope(node)
        if depth > 12:
            return [UNKNOWN]
        if isinstance(node, ast.Name):
            return self._name(node.id, scope, getattr(node, "lineno", 0), depth)
        if isinstance(node, ast.Attribute):
            return [
                r
                for base in self.resolve(node.value, scope, depth + 1)
                for r in self.member(base, node.attr)
            ]
        if isinstance(node, ast.Call):
            constant = constant_getattr(node)
            if constant is not None:
                bases = self.resolve(node.args[0], scope, depth + 1)
                return [r for base in bases for r in self.member(base, constant)]
            if isinstance(node.func, ast.Name) and node.func.id == "super" and not node.args:
                owner = self._method_owner(scope)  # super() in a method: the class's bases
                if owner is not None:
                    return [Ref("self", node=owner)]
            return [_returned(ref) for ref in self.resolve(node.func, scope, depth + 1)]
        if isinstance(node, ast.Lambda):
            return [Ref("lambda", node=node)]
        if isinstance(node, ast.NamedExpr):
            return self.resolve(node.value, scope, depth + 1)
        return [Ref("value", node=node)]

    def _method_owner(self, scope: Scope) -> ast.ClassDef | None:
        """The class whose method ``scope`` is in, if it is one."""
        current: Scope | None = scope
        while current is not None and current.kind != "function":
            current = current.parent
        if current is not None and current.parent is not None and current.parent.kind == "class":
            node = current.parent.node
            return node if isinstance(node, ast.ClassDef) else None
        return None

    def lookup(self, name: str, scope: Scope) -> tuple[Scope, list[Binding]] | None:
        """The scope that binds ``name`` as seen from ``scope``, and its bindings."""
        current: Scope | None = scope
        first = True
        while current is not None:
            if name in current.globals:
                current = current.module()
            visible = first or current.kind != "class"  # a class body is not an enclosing scope
            if visible and name in current.bindings and name not in current.nonlocals:
                return current, current.bindings[name]
            first = False
            current = current.parent
        return None

    def _name(self, name: str, scope: Scope, line: int, depth: int) -> list[Ref]:
        found = self.lookup(name, scope)
        if found is None:
            return self._unbound(name)
        owner, bindings = found
        refs: list[Ref] = []
        for binding in bindings:
            if binding in self._resolving:
                continue
            self._resolving.add(binding)
            try:
                refs += self._bound(binding, owner, depth)
            finally:
                self._resolving.discard(binding)
        if (
            owner.kind == "module"
            and hasattr(builtins, name)
            and not _hides_builtin(bindings, scope, line)
        ):
            refs.append(Ref("builtin", name))
        return refs or [UNKNOWN]

    def _unbound(self, name: str) -> list[Ref]:
        """A builtin; or a name a star import from a vetted module binds; else nothing known."""
        if hasattr(builtins, name) or name in caps.BUILTINS:
            return [Ref("builtin", name)]
        for module in self.info.star_modules:
            real = real_module(module)
            if real is not None and hasattr(real, name):
                return self.member(Ref("module", module), name)
        return [UNKNOWN]

    def _bound(self, binding: Binding, scope: Scope, depth: int) -> list[Ref]:
        if binding.kind == "import":
            return [self.imported(binding.target)]
        if binding.kind in ("def", "class"):
            return [Ref(binding.kind, node=binding.node)]
        if binding.kind == "value" and binding.node is not None:
            return self.resolve(
                binding.node, self.info.scope_of.get(binding.node, scope), depth + 1
            )
        if binding.kind == "param":
            if binding.owner is not None:
                return [Ref("self", node=binding.owner)]
            if binding.node is not None:  # annotated: an instance of that class
                where = self.info.scope_of.get(binding.node, scope)
                return [_instance(ref) for ref in self.resolve(binding.node, where, depth + 1)]
        return [UNKNOWN]

    def imported(self, target: str) -> Ref:
        """``import a.b`` binds module a.b; ``from a import b`` binds a.b, module or not."""
        if is_module(target):
            return Ref("module", target)
        module, _, attr = target.rpartition(".")
        return self.member(Ref("module", module), attr)[0]

    def member(self, base: Ref, attr: str) -> list[Ref]:
        """What ``base.attr`` denotes."""
        if base.kind in ("module", "object", "instance"):
            owner = real_module(base.name) if base.kind == "module" else base.real
            dotted = f"{base.name}.{attr}"
            if owner is ABSENT:
                return [Ref("object", dotted, real=ABSENT)]
            value = getattr(owner, attr, MISSING) if owner not in (None, MISSING) else MISSING
            if isinstance(value, ModuleType):
                return [Ref("module", value.__name__)]
            if value is MISSING and base.kind == "module" and is_module(dotted):
                return [Ref("module", dotted)]
            if value is MISSING and base.kind == "module" and owner is not None:
                value = ABSENT  # json.nope raises AttributeError, whose .obj is the module
            return [Ref("object", dotted, real=value)]
        if base.kind == "builtin":
            return [
                Ref(
                    "object",
                    f"builtins.{base.name}.{attr}",
                    real=getattr(getattr(builtins, base.name, None), attr, MISSING),
                )
            ]
        if base.kind in ("class", "self"):
            assert isinstance(base.node, ast.ClassDef)
            local = [Ref("def", node=m) for m in self.methods(base.node, attr)]
            return local or self._inherited(base.node, attr) or [UNKNOWN]
        return [UNKNOWN]

    def _inherited(self, cls: ast.ClassDef, attr: str) -> list[Ref]:
        """``class R(ConfigParser)``: ``R().read`` is ConfigParser's read."""
        found: list[Ref] = []
        for current in self.lineage(cls):
            for base in current.bases:
                for ref in self.resolve(base):
                    if ref.kind == "object" and isinstance(ref.real, type):
                        found += self.member(Ref("instance", ref.name, real=ref.real), attr)
                    elif ref.kind == "builtin" and isinstance(
                        getattr(builtins, ref.name, None), type
                    ):
                        found += self.member(ref, attr)
        return found

    def methods(
        self, cls: ast.ClassDef, name: str | None = None
    ) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
        """Methods (properties too) of a local class and its local bases; all, or those called ``name``."""
        found: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
        for current in self.lineage(cls):
            found += [
                s
                for s in current.body
                if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) and name in (None, s.name)
            ]
        return found

    def lineage(self, cls: ast.ClassDef) -> list[ast.ClassDef]:
        """A local class and its local bases."""
        seen: list[ast.ClassDef] = []
        pending = [cls]
        while pending:
            current = pending.pop()
            if current in seen:
                continue
            seen.append(current)
            for base in current.bases:
                pending += [r.node for r in self.resolve(base) if r.kind == "class"]  # type: ignore[misc]
        return seen


def _returned(callee: Ref) -> Ref:
    """What calling ``callee`` gives, where a later attribute of it matters."""
    if callee.kind == "class":
        return Ref("self", node=callee.node)
    if callee.kind == "object":
        if callee.name in caps.RETURNS:
            cls = caps.RETURNS[callee.name]
            module, _, attr = cls.rpartition(".")
            return Ref("instance", cls, real=getattr(real_module(module), attr, MISSING))
        if isinstance(callee.real, type):
            return Ref("instance", callee.name, real=callee.real)
    return UNKNOWN


def _instance(ref: Ref) -> Ref:
    if ref.kind == "object" and isinstance(ref.real, type):
        return Ref("instance", ref.name, real=ref.real)
    if ref.kind == "class":
        return Ref("self", node=ref.node)
    return UNKNOWN


def _hides_builtin(bindings: list[Binding], scope: Scope, line: int) -> bool:
    """A module-level binding hides the builtin: always, seen from a function (which runs
    after the module has executed); on import, only from a binding made earlier."""
    deferred = scope.deferred()
    return any(b.unconditional and (deferred or b.line < line) for b in bindings)


def verdict(ref: Ref) -> str:
    """PURE, EFFECT, a capability or NOT_VETTED for an object or builtin reference."""
    if ref.kind == "builtin":
        return caps.BUILTINS.get(ref.name, "dynamic")
    if ref.kind != "object":
        return caps.PURE
    module, paths = _split(ref)
    if not caps.is_stdlib(module):
        return caps.PURE  # a declared or granted package: its import was checked
    first = paths[0].partition(".")[0]
    if is_dunder(first) and first not in caps.MODULE_DUNDERS:
        return "dynamic"  # json.__dict__ holds json's globals, and through them __builtins__
    found = caps.module_rule(module)
    if found is None:
        return caps.NOT_VETTED
    listed, rule = found
    if ref.real is ABSENT:  # no such attribute: only what a table names on another platform
        named = caps.lookup(rule, paths[0], None) if isinstance(rule, dict) else None
        return named or "dynamic"
    if isinstance(rule, str):
        return rule
    if listed != module:  # a submodule of a module with a table, e.g. logging.handlers
        paths = [f"{module[len(listed) + 1:]}.{p}" for p in paths]
    results = [caps.lookup(rule, p) or caps.NOT_VETTED for p in paths]  # the strictest name
    result = next((r for r in results if r != caps.PURE), caps.PURE)
    path = paths[0]
    parts = path.split(".")
    if any(is_private(p) for p in parts) and result in (caps.PURE, caps.NOT_VETTED):
        return "dynamic"  # private names are never vetted: pickle._loads, random._os
    if any(is_dunder(p) and p not in caps.SAFE_DUNDERS for p in parts):
        return "dynamic"
    if result == caps.PURE and parts[-1] == "open" and "open" not in rule:
        return "filesystem"  # a vetted module's own open() opens files
    return result


def _split(ref: Ref) -> tuple[str, list[str]]:
    """An object reference as (the module it is read from, its paths in that module's table):
    the path it was reached by, and the real object's qualified name where it was defined in
    that very module (``ConfigParser.read`` is ``RawConfigParser.read``)."""
    if ref.name.startswith("builtins."):
        return "builtins", [ref.name[len("builtins.") :]]
    module = ref.name.rpartition(".")[0]
    while module and not is_module(module):
        module = module.rpartition(".")[0]
    module = module or ref.name.partition(".")[0]
    paths = [ref.name[len(module) + 1 :]]
    qualname = getattr(ref.real, "__qualname__", None)
    if (
        isinstance(qualname, str)
        and "<" not in qualname
        and getattr(ref.real, "__module__", None) == module
    ):
        paths.append(qualname)
    return module, paths


def display(ref: Ref) -> str:
    return ref.name[len("builtins.") :] if ref.name.startswith("builtins.") else ref.name


def real_module(name: str) -> ModuleType | None:
    """The module object of a vetted standard-library module (importing one has no effect
    beyond defining it); None for anything else: third-party code is not run to be analysed.
    Kept in ``STATE.real_modules``."""
    if name in STATE.real_modules:
        return STATE.real_modules[name]
    module: ModuleType | None = None
    if caps.is_stdlib(name):
        module = sys.modules.get(name)
        found = caps.module_rule(name)
        vetted = found is not None and (isinstance(found[1], dict) or found[1] == caps.PURE)
        if module is None and vetted:
            try:
                module = importlib.import_module(name)
            except Exception:  # noqa: BLE001 - not on this platform; the tables still apply
                module = None
    STATE.real_modules[name] = module
    return module


@cached(maxsize=4096)
def is_module(name: str) -> bool:
    if name in sys.modules or name in caps.MODULES:
        return True
    parent, _, attr = name.rpartition(".")
    if not parent:
        return name in sys.stdlib_module_names or _findable(name)
    real = real_module(parent) if caps.is_stdlib(name) else None
    if real is not None:
        return isinstance(getattr(real, attr, None), ModuleType) or (
            hasattr(real, "__path__") and _findable(name)
        )
    return False


def _findable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def constant_getattr(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name) and node.func.id == "getattr":
        return constant_name(node)
    return None


def constant_name(node: ast.Call) -> str | None:
    """The second argument of ``getattr(x, "name")``-like calls, when it is a constant."""
    if (
        len(node.args) >= 2
        and isinstance(node.args[1], ast.Constant)
        and isinstance(node.args[1].value, str)
    ):
        return node.args[1].value
    return None


def is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def is_sunder(name: str) -> bool:
    return len(name) > 2 and name.startswith("_") and name.endswith("_") and not is_dunder(name)


def is_private(name: str) -> bool:
    return name.startswith("_") and not is_dunder(name)
