"""Extension points: entry-point groups through which installed packages shape generation.

    autogen_hook.prompt_plugins   name -> callable(messages, target) -> messages
                                  transforms the first messages of every generation
                                  ("follow our style guide"); retries build on them
    autogen_hook.validators       name -> callable(source, target) -> problems
                                  one more check of a candidate that passed every built-in
                                  one (ruff, mypy, house rules): each problem (a string)
                                  goes back to the model like any other

Plugins run in name order, loaded once per process on the cold path. A plugin that
raises, or returns something unusable, fails the generation with a PluginError naming
it: the plugin's failure is never reported, or retried, as the model's.
"""

from __future__ import annotations

import importlib.metadata
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ._errors import PluginError
from ._state import cached
from .providers import Message

PROMPT_GROUP = "autogen_hook.prompt_plugins"
VALIDATOR_GROUP = "autogen_hook.validators"
log = logging.getLogger("autogen_hook")


@dataclass(frozen=True)
class PluginTarget:
    """What a plugin is told about the generation it takes part in."""

    module: str
    names: tuple[str, ...]


@cached(maxsize=None)
def plugins(group: str) -> tuple[tuple[str, Callable[..., Any]], ...]:
    """Every plugin of ``group``, loaded, by name; a plugin that cannot be loaded is a PluginError."""
    loaded = []
    for entry in sorted(importlib.metadata.entry_points(group=group), key=lambda e: e.name):
        try:
            plugin = entry.load()
        except Exception as exc:
            raise failure(group, entry.name, f"could not be loaded from {entry.value}", exc) from exc
        if not callable(plugin):
            raise PluginError(f"the {group} plugin {entry.name!r} ({entry.value}) is not callable")
        loaded.append((entry.name, plugin))
    return tuple(loaded)


def transform_messages(messages: tuple[Message, ...], target: PluginTarget) -> tuple[Message, ...]:
    """``messages`` after every prompt plugin, in name order."""
    for name, plugin in plugins(PROMPT_GROUP):
        try:
            changed = plugin(messages, target)
        except Exception as exc:
            raise failure(PROMPT_GROUP, name, f"raised while preparing {target.module}", exc, target.module) from exc
        if not isinstance(changed, Sequence) or not changed or not all(isinstance(m, Message) for m in changed):
            raise PluginError(
                f"the {PROMPT_GROUP} plugin {name!r} must return a non-empty sequence of "
                f"autogen_hook.providers.Message, got {type(changed).__name__}",
                module=target.module,
            )
        messages = tuple(changed)
    return messages


def failure(group: str, name: str, what: str, exc: Exception, module: str | None = None) -> PluginError:
    """The plugin's error, with its traceback logged at DEBUG for the plugin's author."""
    log.debug("autogen-hook: the %s plugin %r %s", group, name, what, exc_info=exc)
    return PluginError(
        f"the {group} plugin {name!r} {what}: {type(exc).__name__}: {exc}. This is the plugin's "
        "failure, not the model's: fix or uninstall the plugin (its traceback is logged at DEBUG "
        "on the autogen_hook logger).",
        module=module,
    )
