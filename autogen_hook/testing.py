"""Testing code that uses generated modules, with no network and no keys.

:class:`AutogenFake` (the pytest plugin's ``autogen_fake`` fixture) gives a block of code an
isolated store in a directory of its own and a scripted provider: each module's replies are
written by the test (``fake.reply("autogen.x", source)``, or a function of the request), every
request is recorded (``fake.requests``), and the real pipeline runs on them: context,
validation with its sandboxed import check, retries, the store. Namespace modules imported
before the block are hidden while it runs and put back after it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType, TracebackType

from . import providers
from ._errors import ProviderResponseError
from ._finder import Installation, install
from ._prompt import REJECTED
from ._settings import project_root_of, resolve
from ._state import STATE
from .providers import Completion, CompletionRequest, Message, ProgressCallback, Usage

NAME = "autogen-fake"  # the scripted provider's name: in results, metadata and file headers
MODEL = "scripted"


@dataclass(frozen=True)
class ScriptedRequest:
    """One request the scripted provider answered: what a real provider would have been sent."""

    module: str
    names: tuple[str, ...]
    messages: tuple[Message, ...]

    @property
    def prompt(self) -> str:
        """The request's user message: the module, its names, the caller's code, examples."""
        return next(m.content for m in self.messages if m.role == "user")

    @property
    def problem(self) -> str | None:
        """On a retry, the message saying why the last candidate was rejected (else None)."""
        last = self.messages[-1]
        return last.content if last.role == "user" and last.content.startswith(REJECTED) else None


Reply = str | Callable[[ScriptedRequest], str]


class ScriptedProvider:
    """A provider that answers from a script: a module's replies in order, the last one
    answering every later request (a retry, an extension). A module with no reply is a
    ProviderResponseError naming it; it is not retried."""

    name = NAME

    def __init__(self) -> None:
        self.replies: dict[str, list[Reply]] = {}
        self.requests: list[ScriptedRequest] = []

    def reply(self, module: str, *replies: Reply) -> None:
        """Queue ``replies`` for ``module``: source (fenced or not) or a function of the request."""
        self.replies.setdefault(module, []).extend(replies)

    async def complete(self, request: CompletionRequest, progress: ProgressCallback | None = None) -> Completion:
        asked = ScriptedRequest(request.module, request.names, request.messages)
        self.requests.append(asked)
        queued = self.replies.get(request.module)
        if not queued:
            raise ProviderResponseError(
                f"autogen_fake: no reply scripted for {request.module}; call "
                f"autogen_fake.reply({request.module!r}, source) before the import",
                provider=NAME,
                module=request.module,
            )
        reply = queued.pop(0) if len(queued) > 1 else queued[0]
        text = reply(asked) if callable(reply) else reply
        if not isinstance(text, str):
            raise TypeError(f"autogen_fake: a reply for {request.module} must be source text, got {type(text).__name__}")
        return Completion(text if "```" in text else f"```python\n{text}\n```\n", MODEL, Usage())

    async def aclose(self) -> None:
        """Nothing to close: no connection was opened."""


class AutogenFake:
    """An isolated store and the scripted provider, for the ``with`` block (or the test).

    ``project`` is the directory whose settings apply (its pyproject's grants, examples and
    descriptions count; its routes go to the scripted provider too); ``store`` the directory
    generated modules are written to.
    """

    def __init__(self, store: Path, project: Path | str = ".") -> None:
        self.store = Path(store)
        self.provider = ScriptedProvider()
        self._project = str(project)
        self._installed: Installation | None = None
        self._hidden: dict[str, ModuleType] = {}
        self._namespace = ""

    def reply(self, module: str, *replies: Reply) -> None:
        """What the model answers for ``module``: see :class:`ScriptedProvider`."""
        self.provider.reply(module, *replies)

    @property
    def requests(self) -> list[ScriptedRequest]:
        """Every request made so far, in order."""
        return self.provider.requests

    def start(self, **settings: object) -> AutogenFake:
        """Put the fake in place; ``settings`` are install() settings on top of its own."""
        providers.register(NAME, lambda: self.provider)
        current = resolve(project_root_of(self._project), STATE.overrides)
        self._namespace = current.namespace
        self._installed = install(
            **{
                "cache_dir": str(self.store),
                "provider": NAME,
                "routes": {pattern: NAME for pattern in current.routes},
                "offline": False,
                "progress": False,
                **settings,
            }
        )
        self._hidden = self._namespace_modules()
        for name in self._hidden:
            del sys.modules[name]
        return self

    def stop(self) -> None:
        """Undo :meth:`start`: the modules imported meanwhile go, the hidden ones come back."""
        for name in self._namespace_modules():
            del sys.modules[name]
        sys.modules.update(self._hidden)
        self._hidden = {}
        if self._installed is not None:
            self._installed.uninstall()
            self._installed = None
        providers.unregister(NAME)

    def _namespace_modules(self) -> dict[str, ModuleType]:
        prefix = self._namespace + "."
        return {n: m for n, m in list(sys.modules.items()) if n == self._namespace or n.startswith(prefix)}

    def __enter__(self) -> AutogenFake:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
