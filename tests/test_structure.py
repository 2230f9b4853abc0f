"""The package's structure: no import loops, one state object, one home per rule."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Project, ok
from fakellm import Code, FakeLLM

PACKAGE = Path(__file__).resolve().parents[1] / "autogen_hook"
GOOD = 'def f() -> int:\n    """One."""\n    return 1\n'


def _modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name)."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package's modules that ``name`` imports: every ``import``/``from`` statement at
    module level, in functions and under ``if TYPE_CHECKING`` (a type-only loop is a loop too).
    Importing ``a.b.c`` also runs ``a.b``, unless that package is one ``name`` is inside of
    (it is already being imported); a name taken from a package is an import of the package."""
    found: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            source = ".".join([*base, *([node.module] if node.module else [])])
            for alias in node.names:
                if f"{source}.{alias.name}" in modules:
                    targets.append(f"{source}.{alias.name}")
                elif source in modules:
                    found.add(source)
            targets.append(source)
        for target in targets:
            while target:
                if target in modules and target != name and not name.startswith(target + "."):
                    found.add(target)
                target = target.rpartition(".")[0]
    found.discard(name)
    return found


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph``, as the modules along it, or None."""
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> list[str] | None:
        if module in path:
            return path[path.index(module) :] + [module]
        if module in done:
            return None
        for imported in sorted(graph[module]):
            found = visit(imported, [*path, module])
            if found:
                return found
        done.add(module)
        return None

    return next((c for c in (visit(m, []) for m in sorted(graph)) if c), None)


def test_no_module_of_the_package_imports_itself_through_others() -> None:
    modules = _modules()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    assert graph["autogen_hook._pipeline"] >= {"autogen_hook._state", "autogen_hook._store"}  # walked
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or ())


def test_the_walk_finds_a_loop_when_there_is_one() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("leaf", ["_names", "_state", "_atomic", "_version"])
def test_leaf_modules_import_only_the_standard_library(leaf: str) -> None:
    modules = _modules()
    name = f"autogen_hook.{leaf}"
    assert _imports(name, modules[name], modules) == set()


def _calls(attribute: str) -> Iterator[tuple[str, int]]:
    """(file, line) of every call of ``<something>.attribute`` or ``attribute`` in the package."""
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                called = node.func
                name = called.attr if isinstance(called, ast.Attribute) else getattr(called, "id", None)
                if name == attribute:
                    yield str(path.relative_to(PACKAGE)), node.lineno


def test_one_after_fork_rule_and_every_cache_registered() -> None:
    assert [file for file, _ in _calls("register_at_fork")] == ["_state.py"]
    assert [file for file, _ in _calls("lru_cache")] == ["_state.py"]  # cached() registers each
    globals_ = [
        (str(path.relative_to(PACKAGE)), node.lineno)
        for path in PACKAGE.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Global)
    ]
    assert globals_ == []


def test_one_atomic_write_helper() -> None:
    replaces = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Attribute) and node.attr in ("replace", "rename")
        and isinstance(node.value, ast.Name) and node.value.id == "os"
    ]
    assert replaces == ["_atomic.py"]


RESET = """
import os, threading
import autogen_hook
from autogen_hook._state import STATE

autogen_hook.install(max_attempts=2)
autogen_hook.generate("autogen.t", ["f"])
server = STATE.check_server._process.pid
index = next(iter(STATE.indexes.values()))
loop = STATE.loop
print("open", STATE.overrides, sorted(STATE.providers)[0][0], len(STATE.indexes), loop.thread.is_alive())
STATE.reset()
try:
    os.kill(server, 0)
    print("server alive")
except ProcessLookupError:
    print("server gone")
try:
    index.db.execute("SELECT 1")
    print("index open")
except Exception as exc:
    print("index closed")
print("after", STATE.overrides, STATE.providers, STATE.indexes, STATE.loop, loop.thread.is_alive(),
      loop.loop.is_closed(), [t.name for t in threading.enumerate() if t.name.startswith("autogen")])
print(autogen_hook.generate("autogen.u", ["f"]).provider)  # a new loop, server and index
"""


def test_reset_closes_what_is_open_and_forgets_the_rest(project: Project, llm: FakeLLM) -> None:
    llm.openai.responder = lambda request: Code(GOOD)
    lines = ok(project.run(RESET)).splitlines()
    assert lines == [
        "open {'max_attempts': 2} openai 1 True",
        "server gone",
        "index closed",
        "after {} {} {} None False True []",
        "openai",
    ]


FORK = """
import os
import autogen_hook
from autogen_hook._state import STATE

autogen_hook.install(max_attempts=2)
autogen_hook.generate("autogen.t", ["f"])
parent_loop = STATE.loop
pid = os.fork()
if pid == 0:
    fresh = STATE.loop is None and STATE.check_server is None and not STATE.providers and not STATE.indexes
    print("child", fresh, STATE.overrides, autogen_hook.generate("autogen.u", ["f"]).from_store)
    os._exit(0)
os.waitpid(pid, 0)
print("parent", STATE.loop is parent_loop, autogen_hook.generate("autogen.v", ["f"]).from_store)
"""


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_a_forked_child_forgets_the_parents_resources_and_keeps_its_settings(
    project: Project, llm: FakeLLM
) -> None:
    llm.openai.responder = lambda request: Code(GOOD)
    out = ok(project.run(FORK))
    assert "child True {'max_attempts': 2} False" in out
    assert "parent True False" in out


def test_the_warm_path_imports_only_what_start_up_loaded(project: Project) -> None:
    project.write(".autogen/t.py", GOOD)
    script = (
        "import sys\nbefore = set(sys.modules)\nfrom autogen.t import f\n"
        "new = sorted(m for m in set(sys.modules) - before if not m.startswith(('autogen', 'autogen_hook')))\n"
        "print(f(), new)\n"
    )
    assert ok(project.run(script)).strip() == "1 []"


def test_python_version_leaf_is_the_package_version() -> None:
    import autogen_hook

    assert autogen_hook.__version__ == sys.modules["autogen_hook._version"].__version__
