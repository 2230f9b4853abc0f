"""Generation: request -> context -> prompt -> provider -> validate (retry) -> store.

``provide`` is the synchronous entry from a namespace module's ``__getattr__`` (the
finder hands it the statement, the settings and the caller's frame); ``ensure`` is
the coroutine that does the work, on the background loop (generate() and agenerate()
call it too). Everything here is the cold path and may import what it needs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from types import FrameType
from typing import TypeVar

from . import _audit, _observe, _progress, _runtime, providers
from ._errors import (
    GenerationCycleError,
    NotGeneratedError,
    ProviderError,
    StoreError,
    ValidationFailedError,
)
from ._grants import grants_for, packages_for
from ._names import generatable
from ._prompt import build_messages, digest, retry_messages
from ._request import Request, caller_site
from ._resilience import ask, check_ready, provider_chain
from ._result import GenerationResult
from ._settings import Settings
from ._spec_sources import gather
from ._state import STATE
from ._freshness import description_digest
from ._store import Store, header, source_hash, strip_header
from ._validate import Behaviour, Grants, Problem, Spec, defined_names, public_names, validate
from ._validate._examples import Example
from .context import Context, collect
from .context._redact import SecretsNotKept, redact, restore
from .providers import Completion, CompletionRequest, Usage
from .providers._wire import answer_limit
from .providers import _anthropic, _codegen, _openai  # noqa: F401 - imported here, in the
# calling thread: importing httpx and pydantic on the event loop would stall it for ~0.2 s


T = TypeVar("T")
log = logging.getLogger("autogen_hook")


def provide(
    module_name: str,
    name: str,
    statement: tuple[str, ...],
    settings: Settings,
    frame: FrameType | None,
) -> str:
    """Generate ``name`` in ``module_name`` with its siblings in the import ``statement`` being
    executed by ``frame`` (the caller); return the stored file's path."""
    names = tuple(dict.fromkeys(n for n in (*statement, name) if generatable(n)))
    site = caller_site(frame)
    if site is not None and not site.statement and statement:  # python -c: no source to quote
        site = replace(site, statement=f"from {module_name} import {', '.join(statement)}")
    if site is not None:
        site = replace(site, imports=bool(statement))  # else the line uses the module's attribute
    request = Request(
        module=module_name,
        names=names,
        description=settings.descriptions.get(module_name),
        caller=site,
    )
    with _cycle_guard(module_name):
        return _runtime.run(ensure(request, settings)).path


class _cycle_guard:
    """Generating X must not, through the code it runs, need X again in this thread."""

    def __init__(self, module: str) -> None:
        self.module = module
        self.active: set[str] = STATE.generating.__dict__.setdefault("modules", set())

    def __enter__(self) -> None:
        if self.module in self.active:
            raise GenerationCycleError(
                f"generating {self.module} needs {self.module} itself (an import cycle between "
                "stored modules); break the cycle by editing the stored files.",
                module=self.module,
            )
        self.active.add(self.module)

    def __exit__(self, *exc: object) -> None:
        self.active.discard(self.module)


async def ensure(
    request: Request, settings: Settings, chain: tuple[str, ...] | None = None
) -> GenerationResult:
    """Make sure the store holds ``request.names`` in ``request.module``; generate what is missing.

    ``chain`` overrides the providers the settings route this module to. Nothing is written
    (no lock file, no index) before the grants, the providers and their credentials are
    known to be usable: a run that fails on them leaves the project as it was.
    """
    with _observe.generation(request.module, request.names) as report:
        result = await _ensure(request, settings, chain)
        report(result)
        return result


async def _ensure(request: Request, settings: Settings, chain: tuple[str, ...] | None) -> GenerationResult:
    started = time.perf_counter()
    store = Store(settings.store_dir)
    path = store.path(request.module)
    existing = store.read(request.module)
    if existing is not None and _serves(existing, request):
        return await asyncio.to_thread(_stored_result, store, request, path, existing, started)
    if settings.offline:
        raise _not_generated(request, _unstored(existing, request.names), path)
    chain = chain or provider_chain(request.module, settings)
    grants = grants_for(request.module, settings)
    check_ready(chain)
    await _check_space(store, request, settings)
    async with store.lock(request.module):
        existing = store.read(request.module)  # another process may have stored it meanwhile
        if existing is not None and _serves(existing, request):
            return await asyncio.to_thread(_stored_result, store, request, path, existing, started)
        job = _progress.start(request.module, settings.progress)
        try:
            kept = kept_names(request, existing)
            generation = _Generation(generating(request, existing), settings, store, kept, chain, grants, job)
            return replace(await generation.run(started), names=request.names)
        finally:
            if job is not None:
                job.finish()


async def _check_space(store: Store, request: Request, settings: Settings) -> None:
    """Fail before the provider is paid when the store could not hold its answer: room for
    the longest answer ever read (``answer_limit``, 128 KiB at the default max-tokens) four
    times over, for the module, the temporary copy beside the old one until the rename, its
    bytecode (1.2 times the source over the standard library, 2.2 at most) and its record."""
    try:
        store.check_space(request.module, 4 * answer_limit(settings.max_tokens))
    except StoreError as exc:
        await asyncio.to_thread(
            _audit.record, store.directory, "failed", "failed-store", request.module,
            names=list(request.names), problems=[str(exc)],
        )
        raise


def _unstored(source: str | None, names: tuple[str, ...]) -> tuple[str, ...]:
    """The ``names`` that ``source`` (the stored module, if any) does not define."""
    have = defined_names(source)
    return tuple(n for n in names if n not in have)


def _serves(existing: str, request: Request) -> bool:
    """The stored source answers ``request`` as it is: it defines every name, and no
    regeneration was asked for."""
    return not request.regenerate and not _unstored(existing, request.names)


def generating(request: Request, existing: str | None) -> Request:
    """What a generation asks for, given the stored source: the names it lacks (every name, to
    regenerate), with that source to extend or rewrite."""
    names = request.names if request.regenerate else _unstored(existing, request.names)
    return replace(request, names=names, existing_source=strip_header(existing) if existing else None)


def kept_names(request: Request, existing: str | None) -> set[str]:
    """What the new module must go on defining: for a regeneration, what callers can use (its
    public names); for an extension, every name, imports too."""
    return public_names(existing) if request.regenerate else defined_names(existing)


def first_messages(
    context: Context, settings: Settings, grants: Grants, behaviour: Behaviour
) -> tuple[providers.Message, ...]:
    """The messages a generation starts with, for the request ``context`` was collected for
    and the examples of ``behaviour`` (redacted: they may come from the caller's code)."""
    context = replace(context, packages=packages_for(context.request.module, settings))
    examples = [redact(e.text) for e in behaviour.shown]
    return build_messages(context, settings.namespace, grants, examples)


def _stored_result(
    store: Store, request: Request, path: str, source: str, started: float
) -> GenerationResult:
    """A store hit. Provider, model, attempts and problems describe the generation that wrote
    this very source (none if it was written or edited by hand); nothing was spent now."""
    try:
        recorded = store.metadata(request.module) or {}
    except Exception:  # noqa: BLE001 - metadata is a record; the source is what matters
        recorded = {}
    if recorded.get("source_sha256") != source_hash(source):
        recorded = {}
    return GenerationResult(
        request.module,
        path,
        source,
        request.names,
        from_store=True,
        provider=recorded.get("provider"),
        model=recorded.get("model"),
        attempts=recorded.get("attempts", 0),
        problems=tuple(recorded.get("problems", ())),
        timings={**_NOT_RUN, "total": time.perf_counter() - started},
    )


_NOT_RUN = {"context": 0.0, "provider": 0.0, "validation": 0.0}  # seconds, per stage


@dataclass
class _Generation:
    """One generation: the attempt loop, and what it measured along the way."""

    request: Request
    settings: Settings
    store: Store
    kept: set[str]
    chain: tuple[str, ...]
    grants: Grants
    job: _progress.Job | None
    timings: dict[str, float] = field(default_factory=lambda: dict(_NOT_RUN))
    usage: Usage = field(default_factory=Usage)
    problems: list[str] = field(default_factory=list)
    prompt_sha256: str | None = None
    started: float = 0.0

    async def run(self, started: float) -> GenerationResult:
        self.started = started
        # an example that is the user's error fails here, before any model is asked
        behaviour = await asyncio.to_thread(gather, self.request, self.settings, self.store, self.kept)
        context = await self._timed("context", _collect(self.request, self.settings))
        messages = first_messages(context, self.settings, self.grants, behaviour)
        self.prompt_sha256 = digest(messages)
        conversation = messages
        spec = Spec(
            module=self.request.module,
            names=self.request.names,
            kept=frozenset(self.kept),
            filename=self.store.path(self.request.module),
            namespace=self.request.module.split(".")[0],
            grants=self.grants,
            behaviour=behaviour,
        )
        for attempt in range(1, self.settings.max_attempts + 1):
            try:
                request = self._completion_request(conversation)
                provider, completion = await self._timed(
                    "provider", ask(self.chain, request, self.settings, self._on_provider), observed=False
                )
            except ProviderError as exc:  # what the earlier attempts met is news too
                for n, problem in enumerate(self.problems, 1):
                    exc.msg += f"\n  attempt {n} failed validation: {problem}"
                await self._audit("failed", "failed-provider", attempt, [redact(exc.msg, prose=True)],
                                  provider=exc.provider)
                raise
            self.usage = Usage(
                self.usage.input_tokens + completion.usage.input_tokens,
                self.usage.output_tokens + completion.usage.output_tokens,
            )
            try:
                if completion.truncated:
                    raise Problem(
                        f"the answer was cut off at max-tokens ({self.settings.max_tokens} tokens) "
                        "before it ended; write a shorter module, or raise the max-tokens setting"
                    )
                unchecked: list[Example] = []
                source = await self._timed(
                    "validation", validate(completion.text, spec, unchecked), attributes={"attempt": attempt}
                )
                source = _with_secrets(source, self.request.existing_source)
            except Problem as problem:
                # redacted: it may quote what the candidate printed or raised in the check
                self.problems.append(redact(str(problem), prose=True))
                await self._audit("rejected", f"refused-{problem.kind}", attempt, self.problems[-1:],
                                  provider=provider, model=completion.model)
                # a cut-off answer is not sent back: it would fill the context it ran out of
                reply = None if completion.truncated else completion.text
                conversation = retry_messages(messages, reply, self.problems[-1])
                if attempt < self.settings.max_attempts:
                    _observe.count("validation_retries")
                continue
            self.timings["total"] = time.perf_counter() - started
            _warn_unchecked(self.request.module, unchecked)
            return await self._store(source, provider, completion, messages, attempt, behaviour.record(unchecked))
        await self._audit("failed", "failed-validation", self.settings.max_attempts, self.problems)
        described = bool(self.request.description)
        raise ValidationFailedError(self.request.module, self.problems, described=described)

    async def _audit(self, event: str, decision: str, attempts: int, problems: list[str],
                     **fields: object) -> None:
        """One line of the audit log about this generation, with what it has spent so far (and,
        for a repair, what failed)."""
        if self.request.repair:
            fields["repair"] = self.request.repair
        await asyncio.to_thread(
            _audit.record, self.store.directory, event, decision, self.request.module,
            names=list(self.request.names), prompt_sha256=self.prompt_sha256, problems=problems,
            attempts=attempts, input_tokens=self.usage.input_tokens,
            output_tokens=self.usage.output_tokens,
            seconds=round(time.perf_counter() - self.started, 3), **fields,
        )

    def _generated_from(self) -> str | None:
        """The digest of the description the module's code comes from. An extension keeps the
        code it had, and so its record's digest: a stale module stays stale until regenerated."""
        if self.request.existing_source and not self.request.regenerate:
            previous = self.store.metadata(self.request.module) or {}
            if "description_sha256" in previous:
                return previous["description_sha256"]  # type: ignore[no-any-return]
        return description_digest(self.request.description)

    def _completion_request(self, conversation: tuple[providers.Message, ...]) -> CompletionRequest:
        return CompletionRequest(
            messages=conversation,
            module=self.request.module,
            names=self.request.names,
            model=self.settings.model,
            max_tokens=self.settings.max_tokens,
            timeout=self.settings.timeout,
            overall_timeout=self.settings.agent_timeout,
            stream=self.settings.stream,
        )

    def _on_provider(self, name: str) -> providers.ProgressCallback | None:
        return self.job.using(name) if self.job is not None else None

    async def _timed(
        self, stage: str, awaitable: Awaitable[T], observed: bool = True, attributes: dict[str, int] | None = None
    ) -> T:
        """Await ``awaitable`` as ``stage`` (observed: logged, sampled and spanned, see _observe)."""
        begin = time.perf_counter()
        try:
            if not observed:
                return await awaitable
            with _observe.stage(stage, self.request.module, attributes):
                return await awaitable
        finally:
            self.timings[stage] += time.perf_counter() - begin

    async def _store(
        self,
        source: str,
        provider: str,
        completion: Completion,
        messages: tuple[providers.Message, ...],
        attempt: int,
        examples: dict[str, object],
    ) -> GenerationResult:
        module = self.request.module
        now = datetime.now(timezone.utc)
        full = header(module, provider, completion.model, now.date().isoformat()) + source
        metadata = {
            "module": module,
            "names": list(self.request.names),
            "provider": provider,
            "model": completion.model,
            "prompt_sha256": digest(messages),
            "attempts": attempt,
            "problems": self.problems,
            "input_tokens": self.usage.input_tokens,
            "output_tokens": self.usage.output_tokens,
            "written_at": now.isoformat(timespec="seconds"),
            "seconds": round(self.timings["total"], 3),
            "description_sha256": self._generated_from(),
            **examples,
        }
        made = {"provider": provider, "model": completion.model}
        try:
            with _observe.stage("store", module):
                path = await asyncio.to_thread(self.store.write, module, full, metadata, _replacing(self.request))
        except StoreError as exc:
            await self._audit("failed", "failed-store", attempt, [str(exc)], **made)
            raise
        await self._audit("generated", "stored", attempt, self.problems,
                          source_sha256=source_hash(full), **made)
        return GenerationResult(
            module=module,
            path=path,
            source=full,
            names=self.request.names,
            from_store=False,
            provider=provider,
            model=completion.model,
            attempts=attempt,
            problems=tuple(self.problems),
            usage=self.usage,
            timings=dict(self.timings),
        )


def _replacing(request: Request) -> str:
    """Why the stored version (if any) gives way, for the history."""
    if request.repair:
        return f"repaired: {request.repair}"
    if request.regenerate:
        return f"regenerated: {request.regenerate}"
    return f"extended with {', '.join(request.names)}"


def _warn_unchecked(module: str, unchecked: list[Example]) -> None:
    """An example the sandbox could not judge is the user's to know about: it was not verified."""
    if unchecked:
        log.warning(
            "autogen-hook: %s: %d example(s) could not be checked, because the import check's sandbox "
            "refuses the files, network and processes the module is granted: %s", module, len(unchecked),
            "; ".join(redact(e.label) for e in unchecked),
        )


def _with_secrets(source: str, existing: str | None) -> str:
    """An extension's module with the stored module's own secrets back: the prompt showed that
    module redacted, so the reply holds placeholders where its secrets were."""
    if existing is None:
        return source
    try:
        return restore(source, existing)
    except SecretsNotKept as exc:
        raise Problem(str(exc)) from None


async def _collect(request: Request, settings: Settings) -> Context:
    """Context in a worker thread, one project at a time.

    The project's index is used by one thread at a time anyway; waiting here,
    on the event loop, keeps concurrent generations from filling the thread pool
    with threads that only wait for it.
    """
    asked_at = time.monotonic()
    lock = STATE.context_locks.setdefault(settings.project_root, asyncio.Lock())
    async with lock:
        return await asyncio.to_thread(collect, request, settings, asked_at)


def _not_generated(request: Request, missing: tuple[str, ...], path: str) -> NotGeneratedError:
    module = request.module
    what = ", ".join(missing) if missing else "anything"
    lacks = f"{module} has no stored source for {what}"
    if request.regenerate and not missing:
        lacks = f"regenerating {module} needs a provider"
    return NotGeneratedError(
        f"{lacks} and offline mode is on (AUTOGEN_HOOK_OFFLINE, or CI set), so no provider "
        "was asked. Generate it with AUTOGEN_HOOK_OFFLINE=0 and a provider configured (run the "
        f"same import once, or `autogen-hook warm`), or write {path} yourself.",
        module=module,
    )
