"""Context for the prompt: the caller's code and a ranked map of the project, redacted, in a budget.

:func:`collect` is the only entry the pipeline uses. Every stage (caller
analysis, interactive history, repo map) is guarded: a
failure becomes a logged warning and the prompt carries what the other stages
found, because an import must never fail for want of context. Redaction is not
guarded: nothing from the user's files is sent unless it went through it.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TypeVar

from .._request import Request
from .._settings import Settings
from ._caller import CallerFile, CallerUse, analyse
from ._files import secret_source
from ._history import session_source
from ._index import Definition, Index, IndexStats
from ._pack import caller_sections, code_section, estimate_tokens, fit, session_section
from ._rank import Focus
from ._redact import count_redactions, credential_names, explain, redact
from ._repomap import ranked_definitions
from ._summary import Snippet, Summaries, file_lines

__all__ = ["CallerUse", "Context", "Snippet", "collect", "estimate_tokens", "redaction_report"]

log = logging.getLogger("autogen_hook")
_T = TypeVar("_T")


@dataclass(frozen=True)
class Context:
    """What the prompt says about a request's surroundings: redacted, and within the budget."""

    request: Request  # the request as it may be sent: every text from the user's files redacted
    caller: CallerFile | None = None
    caller_name: str = ""  # the caller's file as the prompt names it (relative to the project)
    session: tuple[str, ...] = ()  # interactive input before the import, most recent last
    snippets: tuple[Snippet, ...] = ()
    packages: tuple[str, ...] = ()
    index: IndexStats | None = None

    @property
    def uses(self) -> tuple[CallerUse, ...]:
        return self.caller.uses if self.caller is not None else ()

    @property
    def files(self) -> tuple[str, ...]:
        """The project files the code snippets come from, most relevant first."""
        return tuple(dict.fromkeys(s.path for s in self.snippets))

    def sections(self) -> list[str]:
        """The budgeted prompt sections: caller file, uses, session, relevant code."""
        sections = caller_sections(self.caller, self.caller_name) if self.caller else []
        if self.session:
            sections.append(session_section(self.session))
        if self.snippets:
            sections.append(code_section(self.snippets))
        return sections

    @property
    def redactions(self) -> int:
        """Placeholders in what is sent from the user's code (the budgeted sections and the request)."""
        request = self.request
        texts = [*self.sections(), request.description or "", request.extra_context or "", request.regenerate or ""]
        texts.append(request.caller.statement if request.caller is not None else "")
        texts.append(request.existing_source or "")
        return sum(count_redactions(t) for t in texts)

    @property
    def tokens(self) -> int:
        """Estimated tokens of :meth:`sections` as the prompt joins them."""
        return estimate_tokens("\n\n".join(self.sections()))


def collect(request: Request, settings: Settings, asked_at: float | None = None) -> Context:
    """Everything the prompt says about the surroundings of ``request``; never raises for context.

    ``asked_at`` (``time.monotonic()`` when the request arrived) lets a burst of requests
    share one refresh of the project's index.
    """
    caller = request.caller
    filename = caller.filename if caller is not None else ""
    session = _guarded("reading the interactive history", lambda: session_source(filename))
    sendable = caller is not None and not secret_source(filename, caller.source or "")
    source = redact(session or (caller.source if sendable and caller is not None else None) or "")
    analysed = _guarded("reading the caller's code", lambda: analyse(source, request.module, request.names))
    context = Context(
        request=_redacted(request, analysed),
        caller=analysed,
        caller_name=_display_name(filename, settings.project_root),
        session=tuple(source.splitlines()) if session else (),
    )
    context = _fit_caller(context, settings.context_budget)
    mapped = _guarded("building the repo map", lambda: _repo_map(context, settings, asked_at))
    if mapped is not None:
        context = replace(context, snippets=mapped[0], index=mapped[1])
    return context


def redaction_report(context: Context, request: Request, root: str) -> list[str]:
    """What :func:`collect` removed from ``request`` (as the import made it, unredacted) and from
    the project code of ``context``, and why: ``where:line  kind  rule``; never the secret."""
    report: list[str] = []
    texts: list[tuple[str, str, int, bool, frozenset[str]]] = []  # where, text, first line, prose, credentials
    caller = request.caller
    if caller is not None and caller.source:
        if secret_source(caller.filename, caller.source):
            report.append(f"{context.caller_name}  not read: its name or its keys say it holds secrets")
        else:
            texts.append((context.caller_name, caller.source, 1, False, frozenset()))
    prose = (("description", request.description), ("context", request.extra_context), ("hint", request.regenerate))
    texts += [(where, text, 1, True, frozenset()) for where, text in prose if text]
    if request.existing_source:
        texts.append(("stored module", request.existing_source, 1, False, frozenset()))
    for snippet in context.snippets:
        first, last = snippet.lines
        whole = "".join(file_lines(os.path.join(root, snippet.path)) or [])
        part = "".join(whole.splitlines(keepends=True)[first - 1 : last])
        texts.append((snippet.path, part, first, False, credential_names(whole)))
    report += [
        f"{where}:{first + line - 1}  {kind}  {rule}"
        for where, text, first, prose, names in texts
        for line, kind, rule in explain(text, prose=prose, credentials=names)
    ]
    return report


def _guarded(what: str, stage: Callable[[], _T]) -> _T | None:
    try:
        return stage()
    except Exception as exc:  # noqa: BLE001 - context is best effort; the import goes on
        log.warning("autogen-hook: context: %s failed (%s: %s); generating without it",
                    what, type(exc).__name__, exc)
        return None


def _redacted(request: Request, analysed: CallerFile | None) -> Request:
    """``request`` with every text from the user's files redacted; the statement found if missing."""
    caller = request.caller
    if caller is not None:
        statement = caller.statement or (analysed.statement if analysed is not None else None) or ""
        caller = replace(caller, statement=redact(statement), source=None)
    return replace(
        request,
        caller=caller,
        description=redact(request.description, prose=True) if request.description else None,
        extra_context=redact(request.extra_context, prose=True) if request.extra_context else None,
        existing_source=redact(request.existing_source) if request.existing_source else None,
        regenerate=redact(request.regenerate, prose=True) if request.regenerate else None,
    )


def _display_name(filename: str, root: str) -> str:
    if filename.startswith("<") or not os.path.isabs(filename):
        return filename
    relative = os.path.relpath(filename, root)
    return filename if relative.startswith("..") else relative


def _fit_caller(context: Context, budget: int) -> Context:
    """Drop what the budget cannot hold: the oldest session lines, then docstring and imports, then uses."""
    if context.tokens <= budget:
        return context
    lines = context.session
    kept = fit(len(lines), lambda k: replace(context, session=lines[len(lines) - k :]).tokens, budget)
    context = replace(context, session=lines[len(lines) - kept :])
    caller = context.caller
    if context.tokens <= budget or caller is None:
        return context
    bare = replace(caller, docstring=None, imports=())
    uses = context.uses
    kept = fit(len(uses), lambda k: replace(context, caller=replace(bare, uses=uses[:k])).tokens, budget)
    return replace(context, caller=replace(bare, uses=uses[:kept]))


def _repo_map(
    context: Context, settings: Settings, asked_at: float | None
) -> tuple[tuple[Snippet, ...], IndexStats]:
    """The ranked definitions that fit what the budget leaves, rendered; the index's statistics."""
    caller = context.caller
    path = context.caller_name
    focus = Focus(
        caller=path if path and not path.startswith("<") and not os.path.isabs(path) else None,
        names=caller.focus if caller is not None else (),
        imported=caller.imported if caller is not None else (),
        requested=context.request.names,
    )
    budget = settings.context_budget

    def render(ranked: list[Definition], index: Index) -> tuple[Snippet, ...]:
        summaries = Summaries(settings.project_root, index)
        remaining = budget - context.tokens
        candidates: list[Snippet] = []
        for definition in ranked:  # render only about as much as can fit
            if remaining < 0:
                break
            snippet = summaries.snippet(definition)
            if snippet is not None:
                candidates.append(snippet)
                remaining -= estimate_tokens(snippet.text)
        kept = fit(
            len(candidates), lambda k: replace(context, snippets=tuple(candidates[:k])).tokens, budget
        )
        return tuple(candidates[:kept])

    return ranked_definitions(settings.project_root, settings.store_dir, focus, render, asked_at)


