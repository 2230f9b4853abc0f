"""Generation without an import statement, for orchestrators and tools.

Both functions run the same pipeline as an import (store, lock, providers,
validation) and return a :class:`GenerationResult`; neither executes the module.
Many ``agenerate`` calls may run at once: provider requests are bounded by the
``concurrency`` setting.
"""

from __future__ import annotations

from collections.abc import Coroutine, Sequence
from typing import Any

from . import _runtime, providers
from ._errors import InvalidNameError, SettingsError
from ._names import caller_dir, in_namespace, module_problem, names_problem
from ._pipeline import ensure
from ._request import Request
from ._result import GenerationResult
from ._settings import Settings, _as_provider, project_root_of, resolve
from ._state import STATE


def generate(
    module: str,
    names: Sequence[str] = (),
    *,
    description: str | None = None,
    context: str | None = None,
    provider: str | Sequence[str] | None = None,
) -> GenerationResult:
    """Make sure ``module`` is stored with ``names``, generating what is missing.

    ``description`` says what the module is for, ``context`` adds anything else the
    model should know, ``provider`` (a name or a fallback list) overrides routing.
    """
    request, settings, chain = _prepare(module, names, description, context, provider)
    return _runtime.run(ensure(request, settings, chain))


def agenerate(
    module: str,
    names: Sequence[str] = (),
    *,
    description: str | None = None,
    context: str | None = None,
    provider: str | Sequence[str] | None = None,
) -> Coroutine[Any, Any, GenerationResult]:
    """The async twin of :func:`generate`: ``await agenerate(...)`` in any event loop.

    Arguments are checked and the project is found when it is called, not when
    the task later runs (by then the caller would be the event loop).
    """
    request, settings, chain = _prepare(module, names, description, context, provider)
    return _runtime.arun(ensure(request, settings, chain))


def _prepare(
    module: str,
    names: Sequence[str],
    description: str | None,
    context: str | None,
    provider: str | Sequence[str] | None,
) -> tuple[Request, Settings, tuple[str, ...] | None]:
    settings = resolve(project_root_of(caller_dir()), STATE.overrides)
    names = (names,) if isinstance(names, str) else tuple(names)
    problem = module_problem(module, settings.namespace)
    if problem is not None and not in_namespace(module, settings.namespace):
        raise SettingsError(f"module: {problem}", module=module)
    problem = problem or names_problem(module, names)
    if problem is not None:
        raise InvalidNameError(problem, module=module)
    chain = None if provider is None else _as_provider(provider, "generate(provider=...)")
    if chain is not None:
        providers.check(chain, "generate(provider=...)")
    request = Request(
        module=module,
        names=tuple(names),
        description=description or settings.descriptions.get(module),
        extra_context=context,
    )
    return request, settings, chain
