"""What happens around every provider call, the same for every provider.

    routing      which providers to ask, in order (``routes`` globs, else ``provider``)
    breaker      a provider that failed N times in a row fails fast for a cool-down,
                 then lets one trial call through
    gate         at most ``concurrency`` requests in flight in this process
    rate limit   requests start at most ``rate_limit`` times a minute per provider
    retries      transient failures are retried with jittered exponential backoff,
                 waiting Retry-After / retry-after-ms when the server says so, all
                 within the retry budget (see ``retry_budget``)
    fallback     a provider that is down (or whose circuit is open) hands over to the
                 next one in the chain

The breakers, rate limiters and the gate are the process's (``STATE``) and are used
on the background event loop (see _runtime); every schedule reads :func:`clock`, which
tests inject as ``STATE.clock``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import logging
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace

from . import _observe, providers
from ._errors import ProviderError, ProviderUnavailableError
from ._settings import Settings
from ._state import STATE
from .providers import Completion, CompletionRequest, ProgressCallback
from .providers._ratelimit import SlidingWindow, clock, window

MAX_RETRY_AFTER = 60.0  # a server asking for longer gets this much, then we try again
MAX_BUDGET = 600.0  # seconds: the retry budget's cap, unless one timeout is longer
BACKOFF_BASE, BACKOFF_CAP = 0.5, 20.0  # seconds: the n-th wait is random in [0, base * 2^(n-1)]
_log = logging.getLogger("autogen_hook")


def provider_chain(module: str, settings: Settings) -> tuple[str, ...]:
    """Providers to ask for ``module``: the most specific matching route, else ``provider``.

    Unknown provider names are refused here, naming where they were set.
    """
    matches = [p for p in settings.routes if fnmatch.fnmatchcase(module, p)]
    if matches:
        pattern = max(matches, key=len)
        chain, where = settings.routes[pattern], f"{settings.sources['routes']} {pattern!r}"
    else:
        chain, where = settings.provider, settings.sources.get("provider", "provider (default)")
    providers.check(chain, where)
    return chain


def check_ready(chain: tuple[str, ...]) -> None:
    """Raise the error each provider of ``chain`` would meet before sending anything (a bad
    base URL, a missing credential), so that nothing is written for a run that cannot ask."""
    for entry in chain:
        provider = providers.get(entry.partition(":")[0])
        ready = getattr(provider, "check", None)  # optional: third-party providers may lack it
        if ready is not None:
            ready()


async def ask(
    chain: tuple[str, ...],
    request: CompletionRequest,
    settings: Settings,
    on_provider: Callable[[str], ProgressCallback | None] = lambda name: None,
) -> tuple[str, Completion]:
    """Ask the first provider of ``chain`` that is up; return its name and completion.

    An entry ``name:model`` asks that provider for its own model instead of the
    ``model`` setting. ``on_provider(name)`` is called before each provider is
    tried and returns the progress callback for it (the status line shows who is working).
    """
    outages: list[str] = []
    for entry in chain:
        name, _, model = entry.partition(":")
        asked = replace(request, model=model) if model else request
        try:
            return name, await _ask_one(name, asked, settings, on_provider(name))
        except ProviderError as exc:
            if len(chain) == 1 or not _is_outage(exc):
                raise
            outages.append(f"{name}: {exc}")
            if entry != chain[-1]:
                _log.warning("autogen-hook: %s is unavailable, trying the next provider: %s", name, exc)
    raise ProviderUnavailableError(
        "every provider in the chain is unavailable:\n  " + "\n  ".join(outages),
        provider=chain[-1],
        module=request.module,
    )


async def _ask_one(
    name: str, request: CompletionRequest, settings: Settings, progress: ProgressCallback | None
) -> Completion:
    provider = providers.get(name)
    breaker: _Breaker = STATE.breakers.setdefault(name, _Breaker())
    breaker.admit(name, settings.breaker_cooldown, request.module)
    if STATE.gate is None:
        STATE.gate = _Gate()
    gate: _Gate = STATE.gate
    try:
        async with gate.hold(settings.concurrency):
            completion = await _with_retries(provider, request, settings, progress)
    except ProviderError as exc:
        breaker.record(success=False, outage=_is_outage(exc), threshold=settings.breaker_threshold)
        raise
    except BaseException:  # cancelled (Ctrl-C, a timeout around agenerate): no verdict
        breaker.trial_running = False
        raise
    breaker.record(success=True, outage=False, threshold=settings.breaker_threshold)
    return completion


def retry_budget(timeout: float, retries: int) -> float:
    """Seconds one provider call may take with its retries and the waits between them:
    ``(retries + 1) * timeout``, at most ``MAX_BUDGET`` unless one ``timeout`` is longer."""
    return max(timeout, min((retries + 1) * timeout, MAX_BUDGET))


async def _with_retries(
    provider: providers.Provider,
    request: CompletionRequest,
    settings: Settings,
    progress: ProgressCallback | None,
) -> Completion:
    """The completion, retrying transient failures; no try is given more time than the budget
    has left, and no wait runs past its end."""
    limiter = _limiter(provider.name, settings.rate_limit)
    tries = settings.retries + 1
    budget = retry_budget(request.timeout, settings.retries)
    if limiter is not None:
        await limiter.wait()
    ends = clock().now() + budget
    for attempt in range(1, tries + 1):
        timeout = request.timeout if attempt == 1 else min(request.timeout, ends - clock().now())
        if attempt > 1:
            _observe.count("provider_retries")
        try:
            return await _complete(provider, replace(request, timeout=timeout), progress)
        except ProviderError as exc:
            exc.name = request.module
            if not exc.transient or attempt == tries:
                if exc.transient and attempt > 1:
                    exc.msg = f"{exc.msg} (gave up after {attempt} tries)"
                raise
            if not await _pause(_delay(exc, attempt), limiter, ends):
                tries_made = "1 try" if attempt == 1 else f"{attempt} tries"
                exc.msg = (
                    f"{exc.msg} (gave up after {tries_made}: another would pass the retry "
                    f"budget of {budget:g} s, (retries + 1) x timeout, at most {MAX_BUDGET:g} s)"
                )
                raise
    raise AssertionError("unreachable: the last try returns or raises")


async def _pause(delay: float, limiter: SlidingWindow | None, ends: float) -> bool:
    """Wait ``delay`` and then for the rate limit; False at once if that would pass ``ends``."""
    if clock().now() + delay >= ends:
        return False
    await clock().sleep(delay)
    return limiter is None or await limiter.wait(within=ends - clock().now())


def _delay(exc: ProviderError, attempt: int) -> float:
    """The wait before the next try: the server's Retry-After, else jittered exponential backoff."""
    if exc.retry_after is not None:
        return min(exc.retry_after, MAX_RETRY_AFTER)
    return random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1)))


def _limiter(name: str, rate: float) -> SlidingWindow | None:
    """The provider's window for ``rate`` requests a minute (a new one if the setting changed)."""
    if rate <= 0:
        return None
    return window(("rate-limit", name), 1, 60.0 / rate)


async def _complete(
    provider: providers.Provider, request: CompletionRequest, progress: ProgressCallback | None
) -> Completion:
    """One try of ``provider.complete``, observed: a GenAI span, a DEBUG line, the counters."""
    with _observe.provider_call(provider.name, request) as answered:
        completion = await _guarded(provider, request, progress)
        answered(completion)
        return completion


async def _guarded(
    provider: providers.Provider, request: CompletionRequest, progress: ProgressCallback | None
) -> Completion:
    """``provider.complete``, with any exception it should not raise turned into a ProviderError
    (a third-party provider's bug must still be an ImportError, and counts as an outage)."""
    try:
        return await provider.complete(request, progress)
    except ProviderError:
        raise
    except Exception as exc:
        _log.debug("autogen-hook: provider %s raised", provider.name, exc_info=True)
        raise ProviderUnavailableError(
            f"the {provider.name} provider failed unexpectedly ({type(exc).__name__}: {exc}). "
            "This is a bug in that provider; report it to its authors, or choose another "
            "provider (or list a fallback) in the provider setting.",
            provider=provider.name,
        ) from exc


def _is_outage(exc: ProviderError) -> bool:
    """Down rather than misconfigured: worth a breaker strike and a fallback."""
    return exc.transient or isinstance(exc, ProviderUnavailableError)


@dataclass
class _Breaker:
    """Consecutive outages per provider; open means fail fast until the cool-down ends."""

    failures: int = 0
    opened_at: float | None = None
    trial_running: bool = False

    def admit(self, name: str, cooldown: float, module: str) -> None:
        if self.opened_at is None:
            return
        remaining = self.opened_at + cooldown - clock().now()
        if remaining > 0 or self.trial_running:
            when = (
                f"not asked again for {remaining:.0f} s (breaker-cooldown)"
                if remaining > 0
                else "one trial call is under way; the others fail fast until it succeeds"
            )
            raise ProviderUnavailableError(
                f"{name} failed {self.failures} times in a row, so its circuit is open: it is "
                f"{when}. Check the provider, or list a fallback in the provider setting "
                "(e.g. openai,anthropic).",
                provider=name,
                module=module,
            )
        self.trial_running = True  # half-open: this call is the one trial

    def record(self, *, success: bool, outage: bool, threshold: int) -> None:
        self.trial_running = False
        if success or not outage:
            self.failures, self.opened_at = 0, None
            return
        self.failures += 1
        if self.failures >= threshold:
            self.opened_at = clock().now()


class _Gate:
    """At most ``limit`` holders at once; the limit is read per call (settings may change)."""

    def __init__(self) -> None:
        self._active = 0
        self._changed: asyncio.Condition | None = None

    @contextlib.asynccontextmanager
    async def hold(self, limit: int) -> AsyncIterator[None]:
        self._changed = self._changed or asyncio.Condition()
        async with self._changed:
            await self._changed.wait_for(lambda: self._active < limit)
            self._active += 1
        try:
            yield
        finally:
            async with self._changed:
                self._active -= 1
                self._changed.notify_all()

