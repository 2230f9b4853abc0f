"""Providers: the protocol, and a registry of built-in and entry-point providers.

Third-party packages add a provider by declaring an entry point::

    [project.entry-points."autogen_hook.providers"]
    mine = "my_package.provider:MyProvider"   # a zero-argument factory

and users select it with ``AUTOGEN_HOOK_PROVIDER=mine``.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable

from .._errors import SettingsError
from .._state import STATE
from ._base import (
    Completion,
    CompletionRequest,
    Message,
    Progress,
    ProgressCallback,
    Provider,
    Usage,
)

__all__ = [
    "Completion",
    "CompletionRequest",
    "Message",
    "Progress",
    "ProgressCallback",
    "Provider",
    "Usage",
    "available",
    "check",
    "get",
    "register",
    "unregister",
]

ENTRY_POINT_GROUP = "autogen_hook.providers"
_BUILTIN = {
    "anthropic": "autogen_hook.providers._anthropic:AnthropicProvider",
    "codegen": "autogen_hook.providers._codegen:CodegenProvider",
    "openai": "autogen_hook.providers._openai:OpenAIProvider",
}


def available() -> list[str]:
    """Names of every provider that can be chosen."""
    return sorted({*_BUILTIN, *STATE.registered, *(ep.name for ep in _entry_points())})


def register(name: str, factory: Callable[[], Provider]) -> None:
    """Make ``factory``'s provider selectable as ``name`` in this process, ahead of a built-in
    or entry-point provider of that name (``autogen_hook.testing`` registers its scripted one)."""
    unregister(name)
    STATE.registered[name] = factory


def unregister(name: str) -> None:
    """Forget a provider :func:`register` added, and the instance made of it."""
    STATE.registered.pop(name, None)
    for key in [k for k in STATE.providers if k[0] == name]:
        del STATE.providers[key]


def check(chain: tuple[str, ...], where: str) -> None:
    """Raise SettingsError, naming ``where`` the chain was set, if it names an unknown provider."""
    for entry in chain:
        name = entry.partition(":")[0]
        if name not in _BUILTIN and name not in STATE.registered and name not in (known := available()):
            raise SettingsError(
                f"{where}: unknown provider {name!r}; available: {', '.join(known)}. "
                f"Third-party providers register under the {ENTRY_POINT_GROUP!r} entry-point group."
            )


def get(name: str) -> Provider:
    """The process-wide provider for ``name`` (kept on ``STATE``, which closes it at exit);
    a new one if its credentials changed."""
    factory = _factory(name)
    environment = getattr(factory, "environment", ())
    key = (name, *(os.environ.get(v, "") for v in environment))
    provider: Provider | None = STATE.providers.get(key)
    if provider is None:
        provider = STATE.providers[key] = factory()
    return provider


def _factory(name: str) -> Callable[[], Provider]:
    registered: Callable[[], Provider] | None = STATE.registered.get(name)
    if registered is not None:
        return registered
    target = _BUILTIN.get(name)
    if target is not None:
        module, _, attribute = target.partition(":")
        return getattr(importlib.import_module(module), attribute)  # type: ignore[no-any-return]
    for entry_point in _entry_points():
        if entry_point.name == name:
            return entry_point.load()  # type: ignore[no-any-return]
    raise SettingsError(
        f"provider: unknown provider {name!r}; available: {', '.join(available())}. "
        f"Third-party providers register under the {ENTRY_POINT_GROUP!r} entry-point group."
    )


def _entry_points() -> list[importlib.metadata.EntryPoint]:
    import importlib.metadata

    return list(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP))
