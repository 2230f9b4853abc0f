"""The project's own checks: the ``autogen_hook.validators`` plugins (see ``_plugins``), run on
a candidate that passed every built-in check, in worker threads (a validator may run ruff
or mypy). Their problems go back to the model like any other; a validator that raises is
a PluginError, the validator's failure and not the model's."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from .._errors import PluginError
from .._plugins import VALIDATOR_GROUP, PluginTarget, failure, plugins
from ._static import Problem


async def check_with_validators(source: str, target: PluginTarget) -> None:
    """Raise a Problem holding every validator's problems with ``source``, if any has one."""
    found: list[str] = []
    for name, validator in plugins(VALIDATOR_GROUP):
        problems = await asyncio.to_thread(_run_validator, name, validator, source, target)
        found += [f"- {name}: {p}" for p in problems]
    if found:
        raise Problem("the project's validators refused the module:\n" + "\n".join(found))


def _run_validator(name: str, validator: Callable[..., Any], source: str, target: PluginTarget) -> list[str]:
    try:
        problems = validator(source, target)
        listed = [] if problems is None else [problems] if isinstance(problems, str) else list(problems)
    except Exception as exc:
        raise failure(VALIDATOR_GROUP, name, f"raised while checking {target.module}", exc, target.module) from exc
    if not all(isinstance(p, str) for p in listed):
        raise PluginError(
            f"the {VALIDATOR_GROUP} plugin {name!r} must return problems as strings (none: accepted)",
            module=target.module,
        )
    return [p for p in listed if p.strip()]
