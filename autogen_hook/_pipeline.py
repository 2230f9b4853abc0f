"""Generation: request -> context -> prompt -> provider -> validate (retry) -> store.

``provide`` is the synchronous entry from a namespace module's ``__getattr__``;
``generate`` is the coroutine that does the work, on the background loop.
Everything here is the cold path and may import what it needs.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from types import ModuleType

from . import _runtime, providers
from ._errors import AutogenHookError, GenerationCycleError, NotGeneratedError, ValidationFailedError
from ._finder import FINDER, StoredLoader, caller_frame
from ._prompt import build_messages, digest, retry_messages
from ._request import Request, caller_site, names_from_statement
from ._resilience import complete_with_retries
from ._settings import Settings
from ._store import Store, header, strip_header
from ._validate import Problem, defined_names, validate
from .context import collect
from .providers import Completion, CompletionRequest, Usage


@dataclass(frozen=True)
class GenerationResult:
    """What a generation produced, or found in the store."""

    module: str
    path: str
    source: str
    names: tuple[str, ...]
    from_store: bool
    provider: str | None = None
    model: str | None = None
    attempts: int = 0
    problems: tuple[str, ...] = ()
    usage: Usage = field(default_factory=Usage)
    timings: dict[str, float] = field(default_factory=dict)


_active = threading.local()


def provide(module_name: str, name: str) -> object:
    """Generate ``name`` in ``module_name`` (with its import-statement siblings) and return it."""
    module = sys.modules[module_name]
    frame = caller_frame()
    statement = names_from_statement(frame, module_name) if frame is not None else ()
    names = tuple(dict.fromkeys(n for n in (*statement, name) if n.isidentifier() and not n.startswith("_")))
    settings = FINDER.settings_for(module_name)
    request = Request(
        module=module_name,
        names=names,
        description=settings.descriptions.get(module_name),
        caller=caller_site(frame),
    )
    with _cycle_guard(module_name):
        try:
            result = _runtime.run(generate(request, settings))
        except AutogenHookError as exc:  # the message says it all; drop the event-loop frames
            raise exc.with_traceback(None) from None
    _exec_stored(module, result.path)
    try:
        return module.__dict__[name]
    except KeyError:
        raise AttributeError(f"module {module_name!r} has no attribute {name!r}") from None


class _cycle_guard:
    """Generating X must not, through the code it runs, need X again in this thread."""

    def __init__(self, module: str) -> None:
        self.module = module
        self.active: set[str] = _active.__dict__.setdefault("modules", set())

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


def _exec_stored(module: ModuleType, path: str) -> None:
    """Run the stored file in the existing module object, as the loader would."""
    import importlib.util

    code = StoredLoader(module.__name__, path).get_code(module.__name__)
    module.__file__ = path
    module.__cached__ = importlib.util.cache_from_source(path)  # type: ignore[attr-defined]
    if module.__spec__ is not None:
        module.__spec__.origin = path
        module.__spec__.has_location = True
    exec(code, module.__dict__)


async def generate(request: Request, settings: Settings) -> GenerationResult:
    """Make sure the store holds ``request.names`` in ``request.module``; generate what is missing."""
    started = time.perf_counter()
    store = Store(settings.store_dir)
    async with store.lock(request.module):
        existing = store.read(request.module)
        have = defined_names(existing)
        missing = tuple(n for n in request.names if n not in have)
        path = store.path(request.module)
        if existing is not None and not missing:
            return GenerationResult(request.module, path, existing, request.names, from_store=True)
        if settings.offline:
            raise _not_generated(request.module, missing, path)
        request = replace(
            request, names=missing, existing_source=strip_header(existing) if existing else None
        )
        return await _generate_and_store(request, settings, store, have, started)


async def _generate_and_store(
    request: Request, settings: Settings, store: Store, have: set[str], started: float
) -> GenerationResult:
    context = await asyncio.to_thread(collect, request, settings)
    context_done = time.perf_counter()
    messages = build_messages(context, settings.namespace)
    provider_name = settings.provider[0]
    provider = providers.get(provider_name)
    path = store.path(request.module)
    problems: list[str] = []
    usage = Usage()
    conversation = messages
    for attempt in range(1, settings.max_attempts + 1):
        completion = await complete_with_retries(
            provider,
            CompletionRequest(
                messages=conversation,
                module=request.module,
                model=settings.model,
                timeout=settings.timeout,
            ),
            retries=settings.retries,
        )
        usage = Usage(
            usage.input_tokens + completion.usage.input_tokens,
            usage.output_tokens + completion.usage.output_tokens,
        )
        try:
            source = await validate(
                completion.text,
                module=request.module,
                names=request.names,
                kept=have,
                filename=path,
                namespace=request.module.split(".")[0],
                allow=settings.allow,
            )
        except Problem as problem:
            problems.append(str(problem))
            conversation = retry_messages(conversation, completion.text, str(problem))
            continue
        return await _store(
            store, request, source, provider_name, completion, messages,
            attempt=attempt, problems=problems, usage=usage,
            timings={
                "context": context_done - started,
                "total": time.perf_counter() - started,
            },
        )
    raise ValidationFailedError(request.module, problems)


async def _store(
    store: Store,
    request: Request,
    source: str,
    provider_name: str,
    completion: Completion,
    messages: tuple[providers.Message, ...],
    *,
    attempt: int,
    problems: list[str],
    usage: Usage,
    timings: dict[str, float],
) -> GenerationResult:
    now = datetime.now(timezone.utc)
    full = header(request.module, provider_name, completion.model, now.date().isoformat()) + source
    metadata = {
        "module": request.module,
        "names": list(request.names),
        "provider": provider_name,
        "model": completion.model,
        "prompt_sha256": digest(messages),
        "attempts": attempt,
        "problems": problems,
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "written_at": now.isoformat(timespec="seconds"),
        "seconds": round(timings["total"], 3),
    }
    path = await asyncio.to_thread(store.write, request.module, full, metadata)
    return GenerationResult(
        module=request.module,
        path=path,
        source=full,
        names=request.names,
        from_store=False,
        provider=provider_name,
        model=completion.model,
        attempts=attempt,
        problems=tuple(problems),
        usage=usage,
        timings=timings,
    )


def _not_generated(module: str, missing: tuple[str, ...], path: str) -> NotGeneratedError:
    what = ", ".join(missing) if missing else "anything"
    return NotGeneratedError(
        f"{module} has no stored source for {what} and offline mode is on "
        f"(AUTOGEN_HOOK_OFFLINE), so no provider was asked. Generate it by running the same "
        f"import once with AUTOGEN_HOOK_OFFLINE=0 and a provider configured, or write {path} "
        "yourself.",
        module=module,
    )
