"""The process's state: everything autogen-hook keeps between calls, in one object.

``STATE`` holds what the process was told and has learnt (``install()`` settings, the
project each module was imported for, settings caches, facts about this interpreter)
and the resources the cold path opens on first use (the background event loop and
its providers, breakers, rate limiters and concurrency gate, project indexes, the
import check's server, the status line). Each owning module makes
its resource and puts it here; this module says how every piece ends:

    STATE.close()   close the resources (at interpreter exit, see _runtime)
    STATE.reset()   close them and forget everything else too (tests start afresh)
    fork()          the child forgets the parent's resources without closing them
                    (their threads, sockets, locks and open indexes are the parent's)
                    and its counters, and keeps the rest: one ``os.register_at_fork``
                    for the package

This is the pattern of beartype's claw state and pytest's hook instance: one object,
one reset. Caches of pure functions stay ``functools.lru_cache``s, registered with
:func:`cached` so that ``reset()`` clears them.

A leaf of the package on the warm import path: it imports only what Python has
loaded at start-up (``_thread``, not ``threading``; no ``__future__``, so annotations
that name typing-only imports are quoted).
"""

import _thread
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType
    from typing import Any, TypeVar

    _F = TypeVar("_F", bound=Callable[..., Any])


class State:
    """Everything process-wide and mutable; ``STATE`` is the one instance."""

    def __init__(self) -> None:
        self.lock = _thread.allocate_lock()  # guards making the resources, from any thread
        self.terminal = _thread.allocate_lock()  # one review question on the terminal at a time
        self._caches: list[Any] = []  # lru_caches registered with cached()
        self._learnt()
        self._no_resources()

    def _learnt(self) -> None:
        """What the process was told and found out; a forked child keeps it."""
        self.overrides: dict[str, object] = {}  # install() keywords, later calls winning
        self.projects: dict[str, str] = {}  # module -> root of the project it was imported for
        self.warned: set[str] = set()  # namespaces reported as owned by a real package
        self.roots: dict[str, str] = {}  # directory -> its project root
        self.tables: dict[str, tuple[tuple[int, int], dict[str, Any]]] = {}  # pyproject -> (stat, table)
        self.clock: Any = None  # the providers' Clock (_ratelimit); None: monotonic time
        self.registered: dict[str, Any] = {}  # provider name -> factory, from providers.register()
        self.generating = _thread._local()  # per thread: the modules it is generating
        self.sandbox_warned = False  # the missing sandbox layers were reported
        self.audit_warned = False  # an audit line could not be written (said once)
        self.readable: Any = None  # _validate._readable's rules, with what they were made from
        self.real_modules: dict[str, ModuleType | None] = {}  # _validate._reach's vetted modules
        self.repaired: set[str] = set()  # modules whose failure asked for a repair (once each)
        self.pinned: set[str] = set()  # repaired files whose running lines linecache keeps
        self.fixed: set[str] = set()  # modules whose repair stored a fix this process does not run yet
        self._counted()

    def _counted(self) -> None:
        """What this process did (stats()): a forked child starts its own count."""
        self.store_loads = 0  # stored modules the finder served to imports
        self.counters: Any = None  # _observe's counters

    def _no_resources(self) -> None:
        """Forget every resource without closing it."""
        self.loop: Any = None  # _runtime's background loop
        self.providers: dict[tuple[str, ...], Any] = {}  # (name, credentials...) -> provider
        self.breakers: dict[str, Any] = {}  # provider -> its circuit breaker
        self.limiters: dict[tuple[str, str], Any] = {}  # (owner, what) -> SlidingWindow
        self.gate: Any = None  # the concurrency gate of provider requests
        self.context_locks: dict[str, Any] = {}  # project root -> asyncio.Lock on the loop
        self.indexes: dict[str, Any] = {}  # index path -> open context index
        self.check_server: Any = None  # the import check's fork server
        self.status_line: Any = None  # _progress's line on stderr

    def close(self) -> None:
        """Close every resource and forget it; the next use opens a new one.

        The status line is cleared first; providers' connections and the check
        server end on the loop they belong to, before it stops.
        """
        with self.lock:
            loop, line, server = self.loop, self.status_line, self.check_server
            providers = list(self.providers.values())
            files = list(self.indexes.values())
            self._no_resources()
        if line is not None:
            line.close()
        closers = [provider.aclose for provider in providers]
        if server is not None:  # it runs on the loop
            closers.append(server.aclose)
        if loop is not None:
            loop.close(closers)
        for opened in files:
            try:
                opened.close()
            except Exception:  # noqa: BLE001 - a cache that cannot close is dropped all the same
                pass

    def reset(self) -> None:
        """Close the resources and forget everything: as in a process that never used the hook
        (the finder stays installed)."""
        self.close()
        self._learnt()
        for cache in self._caches:
            cache.cache_clear()

    def _after_fork(self) -> None:
        self.lock = _thread.allocate_lock()  # the parent's may have been held by another thread
        self.terminal = _thread.allocate_lock()
        self._no_resources()
        self._counted()


STATE = State()


def cached(maxsize: int | None = 128) -> "Callable[[_F], _F]":
    """``functools.lru_cache``, registered so that ``STATE.reset()`` clears it: what it holds
    (installed packages, grammars, modules) is a fact about this process."""
    import functools  # only cold modules cache

    def register(function: "_F") -> "_F":
        wrapper = functools.lru_cache(maxsize)(function)
        STATE._caches.append(wrapper)
        return wrapper  # type: ignore[return-value]

    return register


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=STATE._after_fork)
