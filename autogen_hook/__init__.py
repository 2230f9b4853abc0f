"""autogen-hook: ``from autogen.x import fn`` for modules nobody has written yet.

Importing this package installs the import hook (idempotent). It is imported at
interpreter start by ``autogen_hook.pth``, so it stays small: the exceptions and
the generation API load on first use.

PYTEST_DONT_REWRITE: pytest marks a pytest11 plugin's package for assertion rewriting,
and warns when that package was imported before it, as this one usually is (the .pth).
"""

from ._finder import Installation, describe, install, install_finder, uninstall

TYPE_CHECKING = False  # typing itself is not imported: this module loads at interpreter start
if TYPE_CHECKING:  # what type checkers see of the lazy names below
    from ._api import agenerate, generate
    from ._observe import Stats, stats
    from ._plugins import PluginTarget
    from ._reload import reload
    from ._errors import (
        AuthenticationError,
        AutogenHookError,
        ExampleError,
        GenerationCycleError,
        InvalidNameError,
        MissingCredentialsError,
        NotAcceptedError,
        NotGeneratedError,
        PluginError,
        ProviderError,
        ProviderHTTPError,
        ProviderResponseError,
        ProviderUnavailableError,
        SettingsError,
        StoreError,
        ValidationFailedError,
    )
    from ._result import GenerationResult
    from ._version import __version__

__all__ = [
    "AuthenticationError",
    "AutogenHookError",
    "ExampleError",
    "GenerationCycleError",
    "Installation",
    "InvalidNameError",
    "MissingCredentialsError",
    "NotAcceptedError",
    "NotGeneratedError",
    "PluginError",
    "PluginTarget",
    "ProviderError",
    "ProviderHTTPError",
    "ProviderResponseError",
    "ProviderUnavailableError",
    "SettingsError",
    "StoreError",
    "ValidationFailedError",
    "GenerationResult",
    "__version__",
    "agenerate",
    "Stats",
    "describe",
    "generate",
    "install",
    "reload",
    "stats",
    "uninstall",
]

_LAZY = {  # loaded on first use: importing autogen_hook happens at interpreter start
    **{n: "_errors" for n in __all__ if n.endswith("Error")},
    "GenerationResult": "_result",
    "__version__": "_version",
    "agenerate": "_api",
    "generate": "_api",
    "load_ipython_extension": "_ipython",  # %load_ext autogen_hook
    "reload": "_reload",
    "PluginTarget": "_plugins",
    "Stats": "_observe",
    "stats": "_observe",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'autogen_hook' has no attribute {name!r}")


install_finder()
