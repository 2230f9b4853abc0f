"""The import hook: a ``sys.meta_path`` finder and the loader of namespace modules.

The finder sits at the *end* of ``sys.meta_path``, so Python only asks it about
modules no other finder found: ordinary imports never reach it, and a real
package that owns the namespace name (Microsoft AutoGen's ``autogen``) wins.

Importing ``autogen.x`` never calls a model. The module is loaded from the
store if its file exists (under the ``review`` setting, only once its bytes are
accepted), and is empty otherwise; every namespace module gets a
``__getattr__`` that generates missing names on first use. ``from autogen.x
import a, b`` reaches that ``__getattr__`` through ``hasattr``, and the cold
path reads the whole statement, so ``a`` and ``b`` come from one request.

This is the warm path: it must import only what Python has loaded at start-up (not even
``__future__``: annotations that name typing-only imports are quoted instead).
"""

import _imp
import marshal
import os
import sys

import _frozen_importlib as _bootstrap  # importlib.machinery would add ~0.7 ms
import _frozen_importlib_external as _external

from . import _settings
from ._names import (
    accepted_file,
    caller_dir,
    caller_frame,
    generatable,
    identifiers,
    private,
    stored_file,
    unimportable,
)
from ._state import STATE

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from types import FrameType, ModuleType, TracebackType
    from typing import Any

    from typing_extensions import Buffer


class _RootLoader:
    """Creates the namespace package itself: no source, submodules on demand."""

    @staticmethod
    def create_module(spec: "Any") -> None:
        return None

    @staticmethod
    def exec_module(module: "ModuleType") -> None:
        name = module.__name__
        module.__getattr__ = _getattr_hook(  # type: ignore[method-assign]
            lambda attribute: _submodule(name, attribute)
        )


_CHECKED_HASH = (0b11).to_bytes(4, "little")  # pyc flags: hash-based, checked against the source


class StoredLoader(_external.SourceFileLoader):
    """Loads a namespace module from its stored ``.py`` file, if there is one yet.

    Subclassing SourceFileLoader keeps everything Python does for source files:
    bytecode caching, ``inspect.getsource``, tracebacks with real lines. What differs:
    only checked-hash bytecode is trusted, a broken ``.pyc`` is a cache miss, bytecode is
    written by the package's atomic writer, and under the ``review`` setting the source's
    bytes must be accepted before the code is handed over to run; under ``repair`` its public
    functions are watched once it has run (``_repair.py``: nothing of it is imported otherwise).
    """

    def __init__(
        self, fullname: str, path: str, review: str = "never", store: str = "", repair: "_settings.Settings | None" = None
    ) -> None:
        super().__init__(fullname, path)
        self.review = review
        self.store = store
        self.repair = repair  # the settings a repair uses; None: repair is off
        self._source: bytes | None = None  # the bytes get_code validated or compiled

    def get_data(self, path: str) -> bytes:
        """Only checked-hash bytecode counts: a committed or hand-edited module can keep the
        size and mtime that timestamp bytecode trusts (``cp -p``, a checkout in the same second)."""
        data: bytes = super().get_data(path)
        if path.endswith(".pyc") and data[4:8] != _CHECKED_HASH:
            raise OSError("timestamp bytecode is not trusted for stored modules")  # recompiled
        if path == self.path:
            self._source = data
        return data

    def get_code(self, fullname: str) -> "Any":
        """The module's code; the review decides on the very bytes it was validated against
        or compiled from."""
        self._source = None
        try:
            code = super().get_code(fullname)
        except (EOFError, ValueError, TypeError):  # marshal: a truncated or garbled .pyc
            if not os.path.exists(_external.cache_from_source(self.path)):
                raise  # not the bytecode's fault
            code = self._without_bytecode(fullname)
        if self.review != "never":
            source = self._source if self._source is not None else super().get_data(self.path)
            _check_review(self, fullname, source)
        return code

    def _without_bytecode(self, fullname: str) -> "Any":
        """The code compiled from the source, the broken bytecode removed (and written anew);
        where it cannot be removed (a read-only store) it is passed by."""
        try:
            os.unlink(_external.cache_from_source(self.path))
        except OSError:
            return self.source_to_code(self.get_data(self.path), self.path)
        return super().get_code(fullname)

    def _cache_bytecode(self, source_path: str, bytecode_path: str, data: bytes) -> None:
        """Write what Python compiled as checked-hash bytecode rather than timestamped."""
        if data[4:8] != _CHECKED_HASH:
            key = int.from_bytes(_external.MAGIC_NUMBER, "little")
            digest = _imp.source_hash(key, super().get_data(source_path))
            data = data[:4] + _CHECKED_HASH + digest + data[16:]
        super()._cache_bytecode(source_path, bytecode_path, data)  # type: ignore[misc]  # not in typeshed

    def set_data(self, path: str, data: "Buffer", *, _mode: int = 0o666) -> None:
        """Bytecode through the package's writer: Python's own ignores a short write on a full
        disk and would leave a truncated ``.pyc`` behind a valid header."""
        from ._atomic import make_dirs, write_atomic

        try:
            make_dirs(os.path.dirname(path))
            write_atomic(path, bytes(data))
        except OSError:
            pass  # no bytecode is fine: the source is compiled again next time

    def exec_module(self, module: "ModuleType") -> None:
        if os.path.exists(self.path):
            try:
                super().exec_module(module)
            except ImportError as exc:
                if _refused(exc, module.__name__):  # the message says it all
                    raise exc.with_traceback(None) from None
                raise  # the module's own code failed: its lines are news
            if self.repair is not None:
                from ._repair import watch

                watch(module, self.repair)
        if "__getattr__" not in module.__dict__:
            name = module.__name__
            module.__getattr__ = _getattr_hook(  # type: ignore[method-assign]
                lambda attribute: _generate(name, attribute)
            )


def _refused(exc: ImportError, module: str) -> bool:
    """Whether ``exc`` is review refusing ``module`` itself (not an import inside its code)."""
    from ._errors import NotAcceptedError  # only on an error

    return isinstance(exc, NotAcceptedError) and exc.name == module


def _check_review(loader: StoredLoader, module: str, source: bytes) -> None:
    """Raise NotAcceptedError unless the review setting lets ``source`` run: at once from the
    review cache, else by the cold path (SHA-256, accepted.json, the terminal), whose verdict
    is remembered."""
    strict = loader.review == "always"
    if _verified(loader.store, module, source, strict):
        return
    from ._review import review

    lock = _stamp(accepted_file(loader.store))  # before review reads it: a change voids the entry
    accepted = review(loader.store, module, loader.path, source, loader.review)
    _remember(loader.store, module, source, accepted, lock)


# Review's warm answer. accepted.json says what was accepted by SHA-256, and reading it needs
# json and hashlib, which start-up did not load. So once the cold path has verified a module's
# bytes, the loader remembers them in the store's __pycache__/accepted.marshal (local, like
# bytecode): (format, accepted.json's stamp, key, {module: (hash, accepted)}), where hash is
# the SipHash-1-3 of checked-hash bytecode (_imp.source_hash, built in) under a key drawn at
# random for this cache (nobody who cannot read the cache can make other bytes that match),
# and accepted is False for a person's own code, which only review = "new" lets run. Any
# change to accepted.json (an acceptance, a pull, an edit) changes its stamp and voids every
# entry. Written under PYTHONDONTWRITEBYTECODE too: it is not bytecode, and it is what keeps
# review cheap; a store that cannot be written is verified the slow way every time.
_REVIEW_FORMAT = 1
_KEY_SHIFT = 33 if sys.platform == "win32" else 1  # the key is a C long: 31 or 63 bits


def _review_cache(store: str) -> str:
    return os.path.join(store, "__pycache__", "accepted.marshal")


def _stamp(path: str) -> "tuple[int, int, int, int] | None":
    """What changes whenever ``path`` is replaced or written: inode, size, mtime, ctime."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _load_review_cache(store: str) -> "tuple[Any, int, dict[str, Any]] | None":
    """(accepted.json's stamp, key, entries); None if there is no usable cache."""
    try:
        with open(_review_cache(store), "rb") as f:
            fmt, lock, key, entries = marshal.loads(f.read())  # load(f) reads piece by piece
    except (OSError, EOFError, ValueError, TypeError):  # missing, or not ours: a miss
        return None
    if fmt != _REVIEW_FORMAT or not isinstance(key, int) or not isinstance(entries, dict):
        return None
    return lock, key, entries


def _verified(store: str, module: str, source: bytes, strict: bool) -> bool:
    """Whether the cache says ``source`` may run: accepted, or (not ``strict``) a person's own."""
    cache = _load_review_cache(store)
    if cache is None or cache[0] != _stamp(accepted_file(store)):
        return False
    entry = cache[2].get(module)
    if not isinstance(entry, tuple) or len(entry) != 2:
        return False
    return entry[0] == _imp.source_hash(cache[1], source) and (entry[1] or not strict)


def _remember(store: str, module: str, source: bytes, accepted: bool, lock: "Any") -> None:
    """Record the cold path's verdict on ``source`` against accepted.json as it was at ``lock``."""
    cache = _load_review_cache(store)
    key = cache[1] if cache else int.from_bytes(os.urandom(8), "little") >> _KEY_SHIFT
    entries = dict(cache[2]) if cache and cache[0] == lock else {}
    entries[module] = (_imp.source_hash(key, source), accepted)
    from ._atomic import make_dirs, write_atomic

    path = _review_cache(store)
    try:
        make_dirs(os.path.dirname(path))
        write_atomic(path, marshal.dumps((_REVIEW_FORMAT, lock, key, entries)))
    except (OSError, ValueError):
        pass


def _getattr_hook(action: "Callable[[str], object]") -> "Callable[[str], object]":
    """A namespace module's ``__getattr__``: ``action(name)``. An error of the hook, or Ctrl-C
    while it waits, reaches the user with no frame of the library but this one (the frames
    below say nothing the message does not); anything else, a bug included, keeps its whole
    traceback."""

    def __getattr__(name: str) -> object:
        try:
            return action(name)
        except BaseException as exc:
            if _for_the_user(exc):
                raise exc.with_traceback(None) from None
            raise

    return __getattr__


def _for_the_user(exc: BaseException) -> bool:
    """The hook's own errors and answers, and Ctrl-C."""
    if isinstance(exc, KeyboardInterrupt) or getattr(exc, "_autogen_hook", False):
        return True
    from ._errors import AutogenHookError  # only on an error: the warm path imports nothing new

    return isinstance(exc, AutogenHookError)


def _submodule(package: str, attribute: str) -> object:
    """``import autogen; autogen.textutils`` imports the submodule."""
    if not generatable(attribute):
        raise _missing(sys.modules[package], attribute)
    import importlib

    return importlib.import_module(f"{package}.{attribute}")


def _generate(module_name: str, name: str) -> object:
    """The value of ``name`` in the namespace module, generated (and stored) if need be.

    The names of the import statement being executed, if any, are generated together,
    and an error is raised for them; an attribute access that finds nothing (``hasattr``,
    ``getattr(m, n, default)``) gets an AttributeError saying why.
    """
    from ._request import names_from_statement

    module = sys.modules[module_name]
    frame = caller_frame()
    statement = names_from_statement(frame, module_name) if frame is not None else ()
    if not generatable(name):
        if name in statement:  # from autogen.x import _helper deserves a reason; probes do not
            from ._errors import InvalidNameError
            from ._names import name_problem

            raise InvalidNameError(str(name_problem(module_name, name)), module=module_name)
        raise _missing(module, name)
    if FINDER not in sys.meta_path:  # uninstall() ends generation
        raise _missing(module, name)
    from ._errors import NotGeneratedError
    from ._pipeline import provide

    settings = FINDER.settings_for(module_name)
    try:
        path = provide(module_name, name, statement, settings, frame)
    except NotGeneratedError as exc:
        if name in statement:
            raise
        raise _missing(module, name, str(exc)) from None
    _exec_stored(module, path, settings)
    try:
        return module.__dict__[name]
    except KeyError:
        raise _missing(module, name) from None


def _missing(module: "ModuleType", name: str, message: str = "") -> AttributeError:
    """The AttributeError for ``module.name``, marked as the hook's own answer."""
    message = message or f"module {module.__name__!r} has no attribute {name!r}"
    error = AttributeError(message, name=name, obj=module)
    error._autogen_hook = True  # type: ignore[attr-defined]
    return error


def _exec_stored(module: "ModuleType", path: str, settings: _settings.Settings) -> None:
    """Run the stored file in the existing module object, with the loader imports use."""
    import importlib.util

    module.__file__ = path
    module.__cached__ = importlib.util.cache_from_source(path)  # type: ignore[attr-defined]
    if module.__spec__ is not None:
        module.__spec__.origin = path
        module.__spec__.has_location = True
    StoredLoader(module.__name__, path, settings.review, settings.store_dir, _repairs(settings)).exec_module(module)


class HookFinder:
    """Answers for the namespace; returns None at once for everything else.

    What it learns (the project each module was imported for, the namespaces it
    warned about) and the install() settings it serves with live on ``STATE``.
    """

    def find_spec(
        self, name: str, path: "Sequence[str] | None" = None, target: "ModuleType | None" = None
    ) -> "Any":
        try:
            return self._find_spec(name)
        except ImportError as exc:  # a bad setting or name: the message says it all
            if _for_the_user(exc):
                raise exc.with_traceback(None) from None
            raise

    def _find_spec(self, name: str) -> "Any":
        top, dot, _ = name.partition(".")
        if dot:
            return self._submodule_spec(name, top)
        project = _settings.project_root_of(caller_dir())
        if not _serves(name, project):
            return None
        STATE.projects[name] = project
        # a loader by protocol: subclassing importlib.abc.Loader would import importlib.abc here
        return _bootstrap.ModuleSpec(name, _RootLoader, is_package=True)  # type: ignore[arg-type]

    def settings_for(self, module_name: str) -> _settings.Settings:
        """Validated settings of the project ``module_name`` was imported for."""
        try:
            return _settings.resolve(STATE.projects[module_name], STATE.overrides)
        except ImportError as exc:  # SettingsError: say which import it spoiled
            exc.name = exc.name or module_name
            raise

    def _submodule_spec(self, name: str, top: str) -> "Any":
        root = sys.modules.get(top)
        if root is None or getattr(root.__spec__, "loader", None) is not _RootLoader:
            _warn_if_shadowed(top)
            return None
        if top not in STATE.projects:
            return None
        STATE.projects[name] = _project_of(name, top)
        settings = self.settings_for(name)
        if settings.disable:
            return None
        path = stored_file(settings.store_dir, name) if identifiers(name) else ""  # in the store
        stored = bool(path) and os.path.exists(path)
        STATE.store_loads += stored  # stats(): a store hit
        if not stored:  # only a name an import can ask for is generated (checked for keywords
            problem = unimportable(name)  # here: the warm path does not import keyword)
            if problem is not None:
                from ._errors import InvalidNameError

                raise InvalidNameError(problem, module=name)
            if private(name):
                return None  # never generated: tools probe __main__, _version
        # without a file yet, the origin (and so the module's repr) says so instead of naming one
        origin = path if stored else _UNSTORED
        loader = StoredLoader(name, path, settings.review, settings.store_dir, _repairs(settings))
        spec = _bootstrap.ModuleSpec(name, loader, origin=origin, is_package=True)
        spec.has_location = stored
        return spec


_UNSTORED = "autogen-hook: nothing stored yet, names are generated on use"


def _repairs(settings: _settings.Settings) -> "_settings.Settings | None":
    """The settings a stored module's repairs use, if its functions are watched: ``repair`` is
    on, and a provider may be asked (offline, a repair could only fail)."""
    return settings if settings.repair and not settings.offline else None


def _serves(top: str, project: str) -> bool:
    """Whether ``top`` is the project's namespace. A bad setting is raised only for an import
    that could be ours: ``import subprocess`` (which probes for msvcrt) must not fail on it."""
    try:
        return _settings.namespace_of(project, STATE.overrides) == top
    except ValueError:  # SettingsError
        if top in _settings.possible_namespaces(project, STATE.overrides):
            raise
        return False


def _project_of(name: str, top: str) -> str:
    """The importing file's project if it serves this namespace too, else the parent
    package's: a process may import generated modules for several projects."""
    project = _settings.project_root_of(caller_dir())
    if _serves(top, project):
        return project
    return STATE.projects[name.rpartition(".")[0]]


def _warn_if_shadowed(top: str) -> None:
    """A real package owns our namespace name: stay out of its way, and say so once."""
    if top in STATE.warned:
        return
    if _serves(top, _settings.project_root_of(caller_dir())):
        STATE.warned.add(top)
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
        STATE.overrides = dict(self._previous)
        if not self._was_installed:
            uninstall()

    def __enter__(self) -> "Installation":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: "TracebackType | None",
    ) -> None:
        self.uninstall()


def install(**settings: object) -> Installation:
    """Install the hook (idempotent) with setting overrides; later calls win.

    Raises SettingsError at once for an unknown setting or a bad value.
    """
    _settings.check_overrides(settings)
    if "provider" in settings or "routes" in settings:  # a typo fails where it was written
        _check_providers(settings)
    previous = dict(STATE.overrides)
    was_installed = FINDER in sys.meta_path
    STATE.overrides.update(settings)
    install_finder()
    namespace = _settings.namespace_of(_settings.project_root_of(caller_dir()), STATE.overrides)
    if namespace and namespace not in STATE.warned and _owned_elsewhere(namespace):
        STATE.warned.add(namespace)
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
    STATE.overrides = {}


def describe(module: str, description: "str | None" = None, *, examples: "Sequence[str]" = ()) -> None:
    """Tell the model what ``module`` is for, and what it must do: ``examples`` (expressions
    such as ``"slugify('A B') == 'a-b'"``, or doctest lines) are added to the module's, and
    every generation or extension of it must pass them before it is stored."""
    if description is not None:
        descriptions = dict(STATE.overrides.get("descriptions") or {})  # type: ignore[call-overload]
        descriptions[module] = description
        STATE.overrides["descriptions"] = descriptions
    if examples:
        listed = examples if isinstance(examples, str) else list(examples)
        given = _settings.FIELDS["examples"][0]({module: listed}, "describe(examples=...)")
        table = dict(STATE.overrides.get("examples") or {})  # type: ignore[call-overload]
        table[module] = (*table.get(module, ()), *given[module])
        STATE.overrides["examples"] = table
