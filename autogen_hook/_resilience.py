"""What happens around every provider call: retries with backoff that honour Retry-After."""

from __future__ import annotations

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

from ._errors import ProviderError
from .providers import Completion, CompletionRequest, ProgressCallback, Provider

MAX_RETRY_AFTER = 60.0  # a server asking for longer gets this much, then we try again
_backoff = wait_random_exponential(multiplier=0.5, max=20)


def _is_transient(exc: BaseException) -> bool:
    return isinstance(exc, ProviderError) and exc.transient


def _wait(state: RetryCallState) -> float:
    exc = state.outcome.exception() if state.outcome else None
    if isinstance(exc, ProviderError) and exc.retry_after is not None:
        return min(exc.retry_after, MAX_RETRY_AFTER)
    return _backoff(state)


async def complete_with_retries(
    provider: Provider,
    request: CompletionRequest,
    *,
    retries: int,
    progress: ProgressCallback | None = None,
) -> Completion:
    """``provider.complete`` with up to ``retries`` more tries for transient failures."""
    retrying = AsyncRetrying(
        stop=stop_after_attempt(retries + 1),
        wait=_wait,
        retry=retry_if_exception(_is_transient),
        reraise=True,
    )
    try:
        async for attempt in retrying:
            with attempt:
                return await provider.complete(request, progress)
    except ProviderError as exc:
        if exc.transient and retries:
            exc.msg = f"{exc.msg} (gave up after {retries + 1} tries)"
        exc.name = request.module
        raise
    raise AssertionError("unreachable: tenacity either returns or raises")
