"""Re-running a stored module's examples offline, in the import check's sandbox.

For ``autogen-hook check`` (to come): a stored module must still pass the examples recorded
when it was generated and the ones its project gives now (a hand edit, a changed dependency
or a changed example can each break that). Nothing is generated and no provider is asked.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from . import _runtime
from ._errors import NotGeneratedError
from ._finder import caller_dir
from ._grants import grants_for
from ._settings import project_root_of, resolve
from ._state import STATE
from ._spec_sources import module_examples
from ._store import Store
from ._validate import Problem, defined_names
from ._validate._examples import Example, applicable, judge, trials
from ._validate._smoke import smoke_import


@dataclass(frozen=True)
class ExampleCheck:
    """What re-running a stored module's examples gave."""

    module: str
    path: str
    examples: tuple[str, ...]  # every example run, as written
    problem: str | None  # what failed (each failed example, expected and actual), None if all passed
    pending: tuple[str, ...] = ()  # examples naming what the module does not define: not run
    unchecked: tuple[str, ...] = ()  # the sandbox refuses what they need (the module's grants)

    @property
    def passed(self) -> bool:
        return self.problem is None


def check_examples(module: str, project: str | None = None) -> ExampleCheck:
    """Run ``module``'s recorded and configured examples against its stored source, in the
    sandbox. ``project``: the project's root (default: the caller's). NotGeneratedError if
    the store has no such module; ExampleError for an example that is the user's error."""
    settings = resolve(project or project_root_of(caller_dir()), STATE.overrides)
    store = Store(settings.store_dir)
    source = store.read(module)
    path = store.path(module)
    if source is None:
        raise NotGeneratedError(f"{module} is not in the store ({path}): there is nothing to check", module=module)
    recorded = store.metadata(module) or {}
    examples = [e for e in map(Example.from_json, recorded.get("examples", ())) if e is not None]
    examples += module_examples(module, settings, settings.descriptions.get(module))
    defined = defined_names(source)
    now, later = applicable(examples, defined, module)
    grants = grants_for(module, settings)
    checked = ExampleCheck(module, path, tuple(e.text for e in now), None, pending=tuple(e.text for e in later))
    try:
        results = _runtime.run(smoke_import(source, module, (), path, trials(now, defined)))
        unchecked = judge(now, results, defined, module, bool(grants.capabilities or grants.names))
    except Problem as problem:
        return replace(checked, problem=str(problem))
    return replace(checked, unchecked=tuple(e.text for e in unchecked))
