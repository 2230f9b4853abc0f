"""The import hook: a ``sys.meta_path`` finder and the loader of namespace modules.

The finder sits at the *end* of ``sys.meta_path``, so Python only asks it about
modules no other finder found: ordinary imports never reach it, and a real
package that owns the namespace name (Microsoft AutoGen's ``autogen``) wins.

Importing ``autogen.x`` never calls a model. The module is loaded from the
store if its file exists, and is empty otherwise; every namespace module gets a
``__getattr__`` that generates missing names on first use. ``from autogen.x
import a, b`` reaches that ``__getattr__`` through ``hasattr``, and the cold
path reads the whole statement, so ``a`` and ``b`` come from one request.

This is the warm path: it must import only what Python has loaded at start-up.
"""

from __future__ import annotations

import os
import sys

import _frozen_importlib as _bootstrap  # importlib.machinery would add ~0.7 ms
import _frozen_importlib_external as _external

from . import _settings

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import CodeType, FrameType, ModuleType, TracebackType
    from typing import Any


class _RootLoader:
    """Creates the namespace package itself: no source, submodules on demand."""

    @staticmethod
    def create_module(spec: Any) -> None:
        return None

    @staticmethod
    def exec_module(module: ModuleType) -> None:
        name = module.__name__

        def __getattr__(attribute: str) -> object:
            """``import autogen; autogen.textutils`` imports the submodule."""
            if not generatable(attribute):
                raise AttributeError(f"module {name!r} has no attribute {attribute!r}")
            import importlib

            return importlib.import_module(f"{name}.{attribute}")

        module.__getattr__ = __getattr__  # type: ignore[method-assign]


_CHECKED_HASH = (0b11).to_bytes(4, "little")  # pyc flags: hash-based, checked against the source


class StoredLoader(_external.SourceFileLoader):
    """Loads a namespace module from its stored ``.py`` file, if there is one yet.

    Subclassing SourceFileLoader keeps everything Python does for source files:
    bytecode caching, ``inspect.getsource``, tracebacks with real lines.
    """

    def get_data(self, path: str) -> bytes:
        """Only checked-hash bytecode counts: a committed or hand-edited module can keep the
        size and mtime that timestamp bytecode trusts (``cp -p``, a checkout in the same second)."""
        data: bytes = super().get_data(path)
        if path.endswith(".pyc") and data[4:8] != _CHECKED_HASH:
            raise OSError("timestamp bytecode is not trusted for stored modules")  # recompiled
        return data

    def _cache_bytecode(self, source_path: str, bytecode_path: str, data: bytes) -> None:
        """Write what Python compiled as checked-hash bytecode rather than timestamped."""
        if data[4:8] != _CHECKED_HASH:
            import _imp

            key = int.from_bytes(_external.MAGIC_NUMBER, "little")
            digest = _imp.source_hash(key, super().get_data(source_path))
            data = data[:4] + _CHECKED_HASH + digest + data[16:]
        super()._cache_bytecode(source_path, bytecode_path, data)  # type: ignore[misc]  # not in typeshed

    def exec_module(self, module: ModuleType) -> None:
        if os.path.exists(self.path):
            super().exec_module(module)
        if "__getattr__" not in module.__dict__:
            module.__getattr__ = _missing_name_hook(module.__name__)  # type: ignore[method-assign]


def generatable(name: str) -> bool:
    """Only public names are generated: tools probe dunders and privates."""
    return _nameable(name) and not name.startswith("_")


def _nameable(name: str) -> bool:
    """An identifier that is not a keyword: what an import statement can name."""
    import keyword  # not loaded at start-up; only misses get here

    return name.isidentifier() and not keyword.iskeyword(name)


def stored_file(store_dir: str, module_name: str) -> str:
    """``autogen.a.b`` lives at ``<store>/a/b.py`` (the store's layout, in one place)."""
    return os.path.join(store_dir, *module_name.split(".")[1:]) + ".py"


def _missing_name_hook(module_name: str) -> Any:
    def __getattr__(name: str) -> object:
        """Generate ``name`` on first use (see autogen_hook._pipeline)."""
        public = generatable(name)
        if not public:
            _refuse_if_imported(module_name, name)
        if not public or FINDER not in sys.meta_path:  # uninstall() ends generation
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        from ._pipeline import provide

        return provide(module_name, name)

    return __getattr__


def _refuse_if_imported(module_name: str, name: str) -> None:
    """``from autogen.x import _helper`` deserves a reason; ``hasattr`` probes do not."""
    from ._request import names_from_statement

    frame = caller_frame()
    if frame is not None and name in names_from_statement(frame, module_name):
        from ._errors import InvalidNameError

        raise InvalidNameError(
            f"cannot generate {module_name}.{name}: names starting with an underscore are never "
            "generated (tools probe such names on every module). Import a public name, or "
            f"define {name} yourself in the stored module.",
            module=module_name,
        )


class HookFinder:
    """Answers for the namespace; returns None at once for everything else."""

    def __init__(self) -> None:
        self.overrides: dict[str, object] = {}
        self.projects: dict[str, str] = {}  # module -> root of the project it was imported for
        self._warned: set[str] = set()

    def find_spec(
        self, name: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> Any:
        top, dot, _ = name.partition(".")
        if dot:
            return self._submodule_spec(name, top)
        project = _settings.project_root_of(caller_dir())
        if not self._serves(name, project):
            return None
        self.projects[name] = project
        # a loader by protocol: subclassing importlib.abc.Loader would import importlib.abc here
        return _bootstrap.ModuleSpec(name, _RootLoader, is_package=True)  # type: ignore[arg-type]

    def _serves(self, top: str, project: str) -> bool:
        """Whether ``top`` is the project's namespace. A bad setting is raised only for an import
        that could be ours: ``import subprocess`` (which probes for msvcrt) must not fail on it."""
        try:
            return _settings.namespace_of(project, self.overrides) == top
        except ValueError:  # SettingsError
            if top in _settings.possible_namespaces(project, self.overrides):
                raise
            return False

    def settings_for(self, module_name: str) -> _settings.Settings:
        """Validated settings of the project ``module_name`` was imported for."""
        try:
            return _settings.resolve(self.projects[module_name], self.overrides)
        except ImportError as exc:  # SettingsError: say which import it spoiled
            exc.name = exc.name or module_name
            raise

    def _submodule_spec(self, name: str, top: str) -> Any:
        root = sys.modules.get(top)
        if root is None or getattr(root.__spec__, "loader", None) is not _RootLoader:
            self._warn_if_shadowed(top)
            return None
        if top not in self.projects:
            return None
        self.projects[name] = self._project_of(name, top)
        settings = self.settings_for(name)
        if settings.disable:
            return None
        parts = name.split(".")[1:]
        if not all(_nameable(part) for part in parts):
            from ._errors import InvalidNameError

            raise InvalidNameError(
                f"cannot generate {name!r}: every part of a generated module's name must be a "
                "Python identifier (letters, digits, underscores) and not a keyword, so that it "
                "can be imported.",
                module=name,
            )
        path = stored_file(settings.store_dir, name)
        stored = os.path.exists(path)
        if not stored and any(part.startswith("_") for part in parts):
            return None  # private modules are never generated (tools probe __main__, _version)
        spec = _bootstrap.ModuleSpec(
            name, StoredLoader(name, path), origin=path, is_package=True
        )
        spec.has_location = stored
        return spec

    def _project_of(self, name: str, top: str) -> str:
        """The importing file's project if it serves this namespace too, else the parent
        package's: a process may import generated modules for several projects."""
        project = _settings.project_root_of(caller_dir())
        if self._serves(top, project):
            return project
        return self.projects[name.rpartition(".")[0]]

    def _warn_if_shadowed(self, top: str) -> None:
        """A real package owns our namespace name: stay out of its way, and say so once."""
        if top in self._warned:
            return
        if self._serves(top, _settings.project_root_of(caller_dir())):
            self._warned.add(top)
            warn_shadowed(top)


def warn_shadowed(namespace: str) -> None:
    """Warn once, pointing at the user's line that imported or installed, not at importlib."""
    import warnings

    origin = getattr(sys.modules.get(namespace), "__file__", None) or "an installed package"
    message = (
        f"autogen-hook: the name {namespace!r} belongs to a real package ({origin}), so the "
        f"hook does not serve it. Choose another namespace with the 'namespace' setting "
        f"(AUTOGEN_HOOK_NAMESPACE=gen, or namespace = \"gen\" under [tool.autogen-hook]) "
        f"and import from it instead."
    )
    frame = caller_frame()
    if frame is None:
        warnings.warn(message, UserWarning, stacklevel=2)
        return
    warnings.warn_explicit(
        message,
        UserWarning,
        frame.f_code.co_filename,
        frame.f_lineno,
        module=frame.f_globals.get("__name__"),
        registry=frame.f_globals.setdefault("__warningregistry__", {}),
    )


_HERE = os.path.dirname(__file__)
_SKIPPED = tuple(  # not the caller: importlib, this package, the standard library, installed
    dict.fromkeys(  # packages; not all of sys.prefix, where projects live too (/usr/src/app)
        [
            "<frozen ",
            _HERE + os.sep,
            os.path.join(os.path.dirname(os.__file__), ""),
            *(
                os.path.join(p, "")
                for p in sys.path
                if os.path.basename(p) in ("site-packages", "dist-packages")
            ),
        ]
    )
)


def caller_frame() -> Any:
    """The frame of the user code that started this import or attribute access.

    Frames of importlib, of this package and of installed libraries (the
    standard library, site-packages) are skipped, so an import driven by
    library code (mock.patch, an asyncio task) is attributed to the code that
    called the library. None if there is no such frame.
    """
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and (
        frame.f_code.co_filename.startswith(_SKIPPED) or _is_boot(frame.f_code)
    ):
        frame = frame.f_back
    return frame


def _is_boot(code: CodeType) -> bool:
    """The stand-in finder autogen_hook.pth defines with exec (compiling it under a filename of
    its own would add a quarter to the instructions of an interpreter's start-up)."""
    return code.co_name == "find_spec" and code.co_filename == "<string>"


def caller_dir() -> str:
    """Directory of the importing file. Without one: the main script's (a multiprocessing
    child unpickling a generated function runs the parent's script as ``__main__``), else
    the cwd (a REPL, ``python -c``)."""
    frame = caller_frame()
    filename = frame.f_code.co_filename if frame is not None else ""
    if not filename or filename.startswith("<"):
        main = getattr(sys.modules.get("__main__"), "__file__", None) or ""
        filename = "" if main.startswith(_SKIPPED) else main  # 3.13's REPL: _pyrepl/__main__.py
    if filename and not filename.startswith("<"):
        return os.path.dirname(os.path.abspath(filename))
    return os.getcwd()


FINDER = HookFinder()


_BOOT = "AutogenHookBootFinder"  # the stand-in autogen_hook.pth installs at start-up


def install_finder() -> None:
    """Put the finder at the end of sys.meta_path once; ``import autogen_hook`` calls this.

    The start-up stand-in is replaced in place: Python may be iterating over
    sys.meta_path right now (the stand-in imports us from inside find_spec).
    """
    boots = [i for i, f in enumerate(sys.meta_path) if type(f).__name__ == _BOOT]
    if boots and FINDER not in sys.meta_path:
        sys.meta_path[boots[0]] = FINDER
    if FINDER not in sys.meta_path:
        sys.meta_path.append(FINDER)


class Installation:
    """What :func:`install` returns; leaving its ``with`` block restores what was before."""

    def __init__(self, previous: dict[str, object], was_installed: bool) -> None:
        self._previous = previous
        self._was_installed = was_installed

    def uninstall(self) -> None:
        """Undo this install(): restore earlier settings; remove the finder if it was absent."""
        FINDER.overrides = dict(self._previous)
        if not self._was_installed:
            uninstall()

    def __enter__(self) -> Installation:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.uninstall()


def install(**settings: object) -> Installation:
    """Install the hook (idempotent) with setting overrides; later calls win.

    Raises SettingsError at once for an unknown setting or a bad value.
    """
    _settings.check_overrides(settings)
    if "provider" in settings or "routes" in settings:  # a typo fails where it was written
        _check_providers(settings)
    previous = dict(FINDER.overrides)
    was_installed = FINDER in sys.meta_path
    FINDER.overrides.update(settings)
    install_finder()
    namespace = _settings.namespace_of(_settings.project_root_of(caller_dir()), FINDER.overrides)
    if namespace and namespace not in FINDER._warned and _owned_elsewhere(namespace):
        FINDER._warned.add(namespace)
        warn_shadowed(namespace)
    return Installation(previous, was_installed)


def _check_providers(settings: dict[str, object]) -> None:
    from . import providers

    where = "install(provider=...)"
    if "provider" in settings:
        providers.check(_settings.FIELDS["provider"][0](settings["provider"], where), where)
    routes = _settings.FIELDS["routes"][0](settings.get("routes", {}), "install(routes=...)")
    for pattern, chain in routes.items():
        providers.check(chain, f"install(routes=...) {pattern!r}")


def _owned_elsewhere(namespace: str) -> bool:
    module = sys.modules.get(namespace)
    if module is not None:
        return getattr(module.__spec__, "loader", None) is not _RootLoader
    return _external.PathFinder.find_spec(namespace) is not None


def uninstall() -> None:
    """Remove the finder and forget install() settings; safe to call twice."""
    sys.meta_path[:] = [f for f in sys.meta_path if f is not FINDER and type(f).__name__ != _BOOT]
    FINDER.overrides = {}


def describe(module: str, description: str | None = None, *, examples: Sequence[str] = ()) -> None:
    """Tell the model what ``module`` is for, and what it must do: ``examples`` (expressions
    such as ``"slugify('A B') == 'a-b'"``, or doctest lines) are added to the module's, and
    every generation or extension of it must pass them before it is stored."""
    if description is not None:
        descriptions = dict(FINDER.overrides.get("descriptions") or {})  # type: ignore[call-overload]
        descriptions[module] = description
        FINDER.overrides["descriptions"] = descriptions
    if examples:
        listed = examples if isinstance(examples, str) else list(examples)
        given = _settings.FIELDS["examples"][0]({module: listed}, "describe(examples=...)")
        table = dict(FINDER.overrides.get("examples") or {})  # type: ignore[call-overload]
        table[module] = (*table.get(module, ()), *given[module])
        FINDER.overrides["examples"] = table
