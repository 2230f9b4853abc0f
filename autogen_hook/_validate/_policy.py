"""The capability policy: what a candidate module may do, decided on its syntax tree.

Default deny (the tables are in ``_capabilities.py``). Two questions are asked of
the whole module, function bodies included, and every violation is reported at once:

* **What does each name reach?** (``_reach.py``) A reference is a use, called or
  not: ``_run = os.system``, ``functools.partial(os.system, c)``, ``lambda f=exec:
  f``. What cannot be followed is ``dynamic``: a computed ``getattr``, a module
  with capabilities passed around as a value, ``vars()``, ``globals()``, frames,
  dunder attributes beyond a safe few (in format strings' fields too),
  ``type(x)(...)``, strings that typing evaluates.
* **What runs on import?** (``_import_time.py``) Only calls that compute.

The policy is a filter, not a wall: the import check's sandbox is the wall.
"""

from __future__ import annotations

import ast
import builtins
import re
import string
from dataclasses import dataclass

from . import _capabilities as caps
from ._import_time import ImportTime
from ._reach import Ref, Resolver, constant_name, display, is_dunder, verdict
from ._scopes import ModuleInfo
from ._static import Problem

_BY_NAME = ("getattr", "setattr", "delattr", "vars")  # builtins that reach attributes by name
_CLASS_TREE = ("__subclasses__", "__mro__", "__bases__", "__base__")


@dataclass(frozen=True)
class Grants:
    """What the project lets one module do: capabilities, names (modules or dotted names)
    and the third-party packages it declares."""

    capabilities: frozenset[str] = frozenset()
    names: frozenset[str] = frozenset()
    packages: frozenset[str] = frozenset()

    def covers(self, capability: str, name: str) -> bool:
        """A capability grant, or a grant of ``name`` or of a module it is in."""
        if capability and capability in self.capabilities:
            return True
        parts = name.split(".")
        return any(".".join(parts[:n]) in self.names for n in range(1, len(parts) + 1))

    def package(self, module: str) -> bool:
        return module.partition(".")[0] in self.packages or self.covers("", module)


@dataclass(frozen=True)
class _Violation:
    line: int
    capability: str  # a capability, or "" when only a grant by name lifts it
    name: str  # what was used: os.system, open, a module
    code: str  # the code it was found in
    detail: str  # a few words on what is wrong; for import-time, the local code it ran through


def check_policy(tree: ast.Module, grants: Grants, source: str = "") -> None:
    """Raise a Problem listing every violation of the policy, or return."""
    try:
        _check(tree, grants, source)
    except RecursionError:
        raise Problem(
            "the module is nested too deeply for the safety policy to check", kind="policy"
        ) from None


def _check(tree: ast.Module, grants: Grants, source: str) -> None:
    info = ModuleInfo(tree, source)
    findings = _Findings(info, grants)
    resolver = Resolver(info)
    _References(info, resolver, findings).run()
    ImportTime(
        info, resolver, lambda node, what, via: findings.report(node, "import-time", what, via)
    ).run()
    if findings.found:
        raise _problem(
            sorted(findings.found.values(), key=lambda v: (v.line, v.capability, v.name))
        )


class _Findings:
    def __init__(self, info: ModuleInfo, grants: Grants) -> None:
        self.info = info
        self.grants = grants
        self.found: dict[tuple[int, str, str, str], _Violation] = {}

    def report(self, node: ast.AST, capability: str, name: str, detail: str = "") -> None:
        """Record a violation unless a grant lifts it (a name never lifts ``import-time``)."""
        lifted = (
            capability in self.grants.capabilities
            if capability == "import-time"
            else self.grants.covers(capability, name)
        )
        if lifted:
            return
        line = getattr(node, "lineno", 0)
        key = (line, capability, name, detail)
        if key not in self.found:
            self.found[key] = _Violation(line, capability, name, self.info.code(node), detail)


class _References:
    """Checks every import, name, attribute and call of the module against the tables."""

    def __init__(self, info: ModuleInfo, resolver: Resolver, findings: _Findings) -> None:
        self.info = info
        self.resolver = resolver
        self.findings = findings
        self.report = findings.report

    def run(self) -> None:
        for node in ast.walk(self.info.tree):
            if node in self.info.skipped:
                continue
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                self._import(node)
            elif isinstance(node, (ast.Name, ast.Attribute)):
                self._name(node)
            elif isinstance(node, ast.Call):
                self._call(node)
            elif isinstance(node, ast.Subscript):
                self._string_code(node.slice, node)  # Optional["..."] holds a ForwardRef
            elif isinstance(node, (ast.arg, ast.AnnAssign)) and node.annotation is not None:
                self._string_code(node.annotation, node)  # get_type_hints evaluates "..."
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.returns:
                self._string_code(node.returns, node)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and "{" in node.value:
                self._format_fields(node, node.value)

    def _import(self, node: ast.Import | ast.ImportFrom) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                self._module(node, alias.name)
            return
        if node.level or not node.module:
            return  # relative imports are refused by the import check
        self._module(node, node.module)
        for alias in node.names:
            if alias.name == "*":
                if caps.is_stdlib(node.module) and isinstance(_rule(node.module), dict):
                    self.report(
                        node,
                        "dynamic",
                        f"from {node.module} import *",
                        "binds names the policy cannot follow; import the names you use",
                    )
                continue
            ref = self.resolver.imported(f"{node.module}.{alias.name}")
            if ref.kind == "module":
                self._module(node, ref.name)
            else:
                self._ref(node, ref)

    def _module(self, node: ast.AST, module: str) -> None:
        if module == "__future__":
            return
        if not caps.is_stdlib(module):
            if not self.findings.grants.package(module):
                self.report(
                    node,
                    "",
                    module,
                    "a third-party package the project does not declare "
                    "(its [project] dependencies)",
                )
            return
        rule = _rule(module)
        if rule is None:
            self.report(node, "", module, "a standard-library module the policy has not vetted")
        elif isinstance(rule, str) and rule != caps.PURE:
            self.report(node, rule, module)

    def _name(self, node: ast.Name | ast.Attribute) -> None:
        parent = self.info.parents.get(node)
        if isinstance(node, ast.Attribute):
            if self._sets_own_attribute(node, parent):
                return
            self._attribute_name(node)
        if isinstance(parent, ast.Attribute) and parent.value is node:
            return  # a chain is checked once, at its outermost name
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            if isinstance(node, ast.Attribute):
                self._store(node, node.value, node.attr)
            return
        if self._in_annotation(node):
            return
        called = isinstance(parent, ast.Call) and parent.func is node
        for ref in self.resolver.resolve(node):
            if ref.kind == "module" and not (
                isinstance(parent, ast.Call) and _read_from(parent, node)
            ):
                if caps.is_stdlib(ref.name):  # even a pure one: its __dict__ holds __builtins__
                    self.report(
                        node,
                        "dynamic",
                        ref.name,
                        "a module used as a value, which the policy "
                        "cannot follow; use its functions directly",
                    )
            elif ref.kind == "builtin" and ref.name in _BY_NAME and not called:
                self.report(
                    node, "dynamic", ref.name, "passed as a value: reaches attributes by name"
                )
            elif ref.kind in ("object", "builtin"):
                self._ref(node, ref)

    def _ref(self, node: ast.AST, ref: Ref) -> None:
        result = verdict(ref)
        if result == caps.NOT_VETTED:
            self.report(node, "", ref.name, "not on the policy's list")
        elif result not in (caps.PURE, caps.EFFECT):
            self.report(node, result, display(ref))

    def _attribute_name(self, node: ast.Attribute) -> None:
        attr = node.attr
        if attr in caps.INTROSPECTION or (is_dunder(attr) and attr not in caps.SAFE_DUNDERS):
            if attr in _CLASS_TREE and self._own_class(node.value):
                return  # a registry of the module's own subclasses
            self.report(node, "dynamic", attr, "reaches frames, code or globals")
        elif attr == "__dict__" and self._library_class(node.value):
            self.report(
                node,
                "dynamic",
                attr,
                "a library class's namespace (type.__dict__ holds __subclasses__)",
            )
        elif attr in caps.SETUP_DUNDERS and not self._class_or_super(node.value):
            self.report(node, "dynamic", attr, "re-initialises an object; call the class instead")

        elif attr in caps.IO_METHODS and not self._own_object(node.value):
            self.report(node, caps.IO_METHODS[attr], f".{attr}()", "I/O on whatever object it is")
        elif (
            attr == "raw" and isinstance(node.value, ast.Attribute) and node.value.attr == "buffer"
        ):
            self.report(node, "filesystem", ".buffer.raw", "the file object under a stream")

    def _own_object(self, node: ast.AST) -> bool:
        """``self.open()`` in a class that defines open: the module's own method, not I/O."""
        refs = self.resolver.resolve(node)
        return bool(refs) and all(r.kind in ("class", "self", "def") for r in refs)

    def _class_or_super(self, node: ast.AST) -> bool:
        """``super().__init__``, ``Base.__init__``, ``dict.__init__``, ``cls.__new__``."""
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "super"
        ):
            return True
        return all(
            r.kind in ("class", "self")
            or (r.kind in ("builtin", "object") and isinstance(r.real, type))
            or (r.kind == "builtin" and isinstance(getattr(builtins, r.name, None), type))
            for r in self.resolver.resolve(node)
        )

    def _library_class(self, node: ast.AST) -> bool:
        """A class of the builtins, the standard library or a package (not the module's own)."""
        return any(
            (r.kind == "object" and isinstance(r.real, type))
            or (r.kind == "builtin" and isinstance(getattr(builtins, r.name, None), type))
            for r in self.resolver.resolve(node)
        )

    def _own_class(self, node: ast.AST) -> bool:
        return all(r.kind in ("class", "self") for r in self.resolver.resolve(node))

    def _sets_own_attribute(self, node: ast.Attribute, parent: ast.AST | None) -> bool:
        """``object.__setattr__(self, "x", v)``: how a frozen dataclass sets its own field."""
        if node.attr not in ("__setattr__", "__delattr__") or not (
            isinstance(parent, ast.Call) and parent.func is node and len(parent.args) >= 2
        ):
            return False
        name = constant_name(parent)
        bases = self.resolver.resolve(node.value)
        return (
            name is not None
            and not is_dunder(name)
            and all(r.kind in ("self", "class") or r == Ref("builtin", "object") for r in bases)
            and self._own_class(parent.args[0])
        )

    def _store(self, node: ast.AST, target: ast.AST, attr: str) -> None:
        for base in self.resolver.resolve(target):
            if base.kind in ("module", "object", "builtin"):
                self.report(
                    node, "interpreter", f"{display(base)}.{attr}", "changes another module"
                )

    def _call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id in _BY_NAME:
            if any(r.kind == "builtin" for r in self.resolver.resolve(func)):
                self._by_name(node, func.id)
        elif isinstance(func, ast.Attribute) and func.attr in ("attrgetter", "methodcaller"):
            if any(r.name.startswith("operator.") for r in self.resolver.resolve(func)):
                self._getter(node, func.attr)
        self._constructed(node)
        if any(
            r.kind == "object" and r.name.startswith("typing.") for r in self.resolver.resolve(func)
        ):
            for argument in [*node.args, *(k.value for k in node.keywords)]:
                self._string_code(argument, node)  # cast("...", x), TypeVar(bound="...")

    def _by_name(self, node: ast.Call, builtin: str) -> None:
        """``getattr(x, "name")`` is ``x.name``; a computed name is ``dynamic``."""
        if builtin == "vars":
            if not node.args:
                self.report(node, "dynamic", "vars()", "reads the local variables")
            elif self._library_class(node.args[0]):
                self.report(node, "dynamic", "vars()", "a library class's namespace")
            return
        name = constant_name(node)
        if name is None:
            self.report(node, "dynamic", builtin, "the attribute's name is computed")
        elif _reaches_code(name) or name == "__dict__":
            self.report(node, "dynamic", name, "reaches frames, code or globals")
        elif builtin == "getattr":
            for ref in self.resolver.resolve(node):
                if ref.kind == "object":
                    self._ref(node, ref)
        elif builtin in ("setattr", "delattr"):
            self._store(node, node.args[0], name)

    def _getter(self, node: ast.Call, factory: str) -> None:
        """``operator.attrgetter("a.b")`` reads attributes as ``getattr`` does."""
        given = node.args[:1] if factory == "methodcaller" else node.args
        names = [a.value for a in given if isinstance(a, ast.Constant) and isinstance(a.value, str)]
        parts = [p for n in names for p in n.split(".")]
        if len(names) != len(given) or any(_reaches_code(p) or p == "__dict__" for p in parts):
            self.report(node, "dynamic", f"operator.{factory}", "the attribute's name is computed")

    def _constructed(self, node: ast.Call) -> None:
        """``type(x)(...)`` and ``x.__class__(...)`` build an object of a class nobody named."""
        func = node.func
        target: ast.expr | None = None
        if (
            isinstance(func, ast.Call)
            and isinstance(func.func, ast.Name)
            and func.func.id == "type"
        ):
            target = func.args[0] if len(func.args) == 1 else None
        elif isinstance(func, ast.Attribute) and func.attr == "__class__":
            target = func.value
        if target is not None and not self._own_class(target):
            self.report(
                node,
                "dynamic",
                "type(...)(...)",
                "builds an object of a class the policy " "cannot see; name the class",
            )

    def _string_code(self, node: ast.AST, site: ast.AST) -> None:
        """A string that typing may evaluate (``Optional["..."]``, ``cast("...")``, the fields of
        ``NamedTuple("P", [("x", "...")])``) is code."""
        if isinstance(node, (ast.List, ast.Tuple, ast.Dict)):
            for inner in ast.iter_child_nodes(node):
                self._string_code(inner, site)
            return
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
            return
        try:
            expression = ast.parse(node.value.strip(), mode="eval")
        except (SyntaxError, ValueError):
            return
        if any(
            isinstance(n, (ast.Call, ast.Lambda, ast.NamedExpr))
            or (isinstance(n, ast.Attribute) and _reaches_code(n.attr))
            for n in ast.walk(expression)
        ):
            self.report(site, "dynamic", "a string typing evaluates", "write the type itself")

    def _format_fields(self, node: ast.Constant, text: str) -> None:
        """``"{0.__class__.__init__.__globals__}".format(x)`` reads attributes as ``getattr``
        does, from a string: any string's fields count, wherever it is formatted."""
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(text) if f]
        except ValueError:  # not a format string
            return
        for field in fields:
            if any(_reaches_code(part) or part == "__dict__" for part in re.split(r"[.\[\]]", field)):
                self.report(node, "dynamic", "a format field", "reaches frames, code or globals")

    def _in_annotation(self, node: ast.AST) -> bool:
        """Names in annotations are types, not uses (calls inside them are still checked)."""
        child, parent = node, self.info.parents.get(node)
        while parent is not None:
            if isinstance(parent, (ast.Call, ast.Lambda, ast.NamedExpr)):
                return False
            if isinstance(parent, (ast.arg, ast.AnnAssign)) and child is parent.annotation:
                return True
            if (
                isinstance(parent, (ast.FunctionDef, ast.AsyncFunctionDef))
                and child is parent.returns
            ):
                return True
            if isinstance(parent, (ast.stmt, ast.arguments)):
                return False
            child, parent = parent, self.info.parents.get(parent)
        return False


def _rule(module: str) -> str | dict[str, str] | None:
    found = caps.module_rule(module)
    return found[1] if found is not None else None


def _read_from(call: ast.Call, node: ast.AST) -> bool:
    """``getattr(os, "path")``, ``hasattr(sys, "x")``: the module is read from, not passed on."""
    if not (isinstance(call.func, ast.Name) and call.args and call.args[0] is node):
        return False
    return call.func.id == "hasattr" or (
        call.func.id == "getattr" and constant_name(call) is not None
    )


def _reaches_code(attribute: str) -> bool:
    return attribute in caps.INTROSPECTION or (
        is_dunder(attribute) and attribute not in caps.SAFE_DUNDERS
    )


def _problem(violations: list[_Violation]) -> Problem:
    """One message for all of them, a line per line of code and rule: the line, the code, what
    it uses and the grant that would allow it, so that one retry can fix every one."""
    groups: dict[tuple[int, str], list[_Violation]] = {}
    for violation in violations:
        groups.setdefault((violation.line, violation.capability or violation.name), []).append(
            violation
        )
    lines = [
        f"the safety policy refused {len(groups)} use{'s' if len(groups) != 1 else ''} (do without "
        "each, or the project must grant what the module truly needs):"
    ]
    for (line, _), group in groups.items():
        first = group[0]
        if first.capability == "import-time":
            lines.append(
                f"- line {line}: `{first.code}` runs on import and calls {_calls(group)} "
                "(needs 'import-time'; importing must only define things)"
            )
        elif first.capability:
            names = ", ".join(dict.fromkeys(v.name for v in group))
            detail = f"; {first.detail}" if first.detail else ""
            lines.append(
                f"- line {line}: `{first.code}` uses {names} (needs '{first.capability}'{detail})"
            )
        else:
            grant = first.name.removeprefix("from ").partition(" ")[0]
            lines.append(
                f"- line {line}: `{first.code}` uses {first.name}: {first.detail} "
                f'(needs a grant by name: allow = ["{grant}"])'
            )
    return Problem("\n".join(lines), total=6000, kind="policy")


def _calls(group: list[_Violation]) -> str:
    """``os.system; through _mark: os.open (line 8), os.write (line 10)``."""
    direct = [v.name for v in group if not v.detail]
    through: dict[str, list[str]] = {}
    for violation in group:
        if violation.detail:
            through.setdefault(violation.detail, []).append(violation.name)
    parts = [", ".join(dict.fromkeys(direct))] if direct else []
    parts += [
        f"through {chain}: {', '.join(dict.fromkeys(names))}" for chain, names in through.items()
    ]
    return "; ".join(parts)
