"""Validation of a model reply, cheapest check first.

extract code -> parse and compile -> requested (and kept) names -> the caller's calls fit
(``_calls``) -> imports -> safety policy -> black -> import in a sandboxed process
(``_smoke``, ``_sandbox``), where the examples then run (``_examples``, ``_trial``) -> the
project's validators (``_validators``: entry-point plugins).

Any failure raises :class:`Problem` whose message is exact enough to send back
to the model on the next attempt.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import black  # here, not in the worker threads: concurrent first imports can half-load it

from .._plugins import PluginTarget
from ._calls import check_calls
from ._examples import Behaviour, Example, judge, trials
from ._extract import extract_code, held_no_code
from ._policy import Grants, check_policy
from ._smoke import smoke_import
from ._static import Problem, check_imports, check_names, parse, top_level_names
from ._validators import check_with_validators

__all__ = ["Behaviour", "Grants", "Problem", "Spec", "defined_names", "public_names", "revalidate", "validate"]


def defined_names(source: str | None) -> set[str]:
    """Module-level names of stored source (empty if there is none or it does not parse)."""
    if not source:
        return set()
    try:
        return top_level_names(parse(source, "<stored>"))
    except Problem:
        return set()


def public_names(source: str | None) -> set[str]:
    """What stored source defines for its callers: public module-level names, imports aside."""
    if not source:
        return set()
    try:
        names = top_level_names(parse(source, "<stored>"), imports=False)
    except Problem:
        return set()
    return {n for n in names if not n.startswith("_")}


@dataclass(frozen=True)
class Spec:
    """What a candidate must satisfy: the same for every attempt of one generation."""

    module: str
    names: tuple[str, ...]  # must be defined
    kept: frozenset[str]  # were defined before an extension; must stay
    filename: str  # where it will be stored (tracebacks point there)
    namespace: str  # imports from it are refused
    grants: Grants  # what the capability policy lets this module do
    behaviour: Behaviour = Behaviour()  # examples to pass, the caller's calls to fit


async def validate(reply: str, spec: Spec, unchecked: list[Example] | None = None) -> str:
    """The module's source, black-formatted, or raise Problem (ExampleError if an example
    turns out to be the user's error). The examples the sandbox could not judge (they need
    what the module's grants allow) are added to ``unchecked``."""
    source = await asyncio.to_thread(_static_checks, reply, spec)
    defined = {*spec.names, *spec.kept}
    examples = spec.behaviour.examples
    results = await smoke_import(source, spec.module, spec.names, spec.filename, trials(examples, defined))
    granted = bool(spec.grants.capabilities or spec.grants.names)
    missed = judge(examples, results, defined, spec.module, granted)
    if unchecked is not None:
        unchecked += missed
    await check_with_validators(source, PluginTarget(spec.module, spec.names))
    return source


async def revalidate(source: str, spec: Spec) -> None:
    """Check a stored module again, with no model: what ``validate`` checks but black (a hand
    edit need not be black's output); raise Problem."""
    await asyncio.to_thread(_code_checks, source, spec)
    await smoke_import(source, spec.module, spec.names, spec.filename)


def _static_checks(reply: str, spec: Spec) -> str:
    code = extract_code(reply, spec.names)
    if not code.strip() or held_no_code(reply):
        said = " ".join(reply.split())
        raise Problem(
            "the reply held no code" + (f" ({said[:100]!r})" if said else "")
            + "; answer with the module in one ```python block"
        )
    _code_checks(code, spec)
    return _black(code)


def _code_checks(code: str, spec: Spec, policy: Callable[..., None] = check_policy) -> None:
    """``policy`` is bound when this module is defined: code that replaces the module's
    attribute later (``_validate.check_policy = ...``) does not switch the policy off."""
    tree = parse(code, spec.filename)
    check_names(tree, spec.names, spec.kept)
    check_calls(tree, spec.behaviour.calls)
    check_imports(tree, spec.namespace)
    policy(tree, spec.grants, code)


def _black(code: str) -> str:
    try:
        return black.format_str(code, mode=black.Mode())
    except Exception as exc:  # black raises several types for input it cannot handle
        raise Problem(f"black cannot format the module: {exc}") from None
