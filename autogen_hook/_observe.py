"""What the process did, for the people watching it: DEBUG logs of each stage with its
timing, OpenTelemetry spans (``_telemetry``, when the API is installed) and the counters
:func:`stats` returns.

The pipeline and the provider layer report here and nothing here changes what they do.
Spans: one per generation (``autogen_hook.generate``), with a child for the context, each
provider call (``chat {model}``, GenAI conventions), each validation attempt and the store
write. The counters are this process's (``STATE.counters``; a forked child starts its own).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import _telemetry
from ._state import STATE

log = logging.getLogger("autogen_hook")
SAMPLES = 1000  # latencies kept per stage (the most recent) for the percentiles
STAGES = ("generation", "context", "provider", "validation", "store")


@dataclass(frozen=True)
class Latency:
    """Seconds one stage took: how many were measured, and percentiles of the last ``SAMPLES``."""

    count: int
    p50: float
    p90: float
    p99: float
    max: float


@dataclass(frozen=True)
class Stats:
    """This process's counters (see the README's "Observability")."""

    store_hits: int  # imports and generations the store answered without a provider
    store_misses: int  # requests for names the store lacked
    generations: int  # modules written by a provider
    provider_calls: int  # every try of every provider call
    provider_retries: int  # tries after a transient failure
    validation_retries: int  # attempts after a rejected candidate
    failures: dict[str, int]  # failed requests by reason (the error's class name)
    input_tokens: int
    output_tokens: int
    latency: dict[str, Latency]  # generation, context, provider (per call), validation (per attempt), store


@dataclass(frozen=True)
class Generated:
    """One module a provider wrote in this process."""

    module: str
    names: tuple[str, ...]
    provider: str | None
    model: str | None
    seconds: float
    attempts: int
    path: str


@dataclass
class _Counters:
    lock: threading.Lock = field(default_factory=threading.Lock)
    counts: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    samples: dict[str, deque[float]] = field(default_factory=dict)
    measured: Counter[str] = field(default_factory=Counter)
    generated: list[Generated] = field(default_factory=list)


def _counters() -> _Counters:
    with STATE.lock:
        if STATE.counters is None:
            STATE.counters = _Counters()
        counters: _Counters = STATE.counters
    return counters


def count(name: str, n: int = 1) -> None:
    counters = _counters()
    with counters.lock:
        counters.counts[name] += n


def _sample(stage: str, seconds: float) -> None:
    counters = _counters()
    with counters.lock:
        counters.samples.setdefault(stage, deque(maxlen=SAMPLES)).append(seconds)
        counters.measured[stage] += 1


def stats() -> Stats:
    """This process's counters: store hits and misses, provider calls, retries, failures by
    reason, tokens, and latency percentiles per stage (seconds)."""
    counters = _counters()
    with counters.lock:
        counts, failures = dict(counters.counts), dict(counters.failures)
        samples = {stage: sorted(kept) for stage, kept in counters.samples.items()}
        measured = dict(counters.measured)
    return Stats(
        store_hits=counts.get("store_hits", 0) + STATE.store_loads,
        store_misses=counts.get("store_misses", 0),
        generations=counts.get("generations", 0),
        provider_calls=counts.get("provider_calls", 0),
        provider_retries=counts.get("provider_retries", 0),
        validation_retries=counts.get("validation_retries", 0),
        failures=failures,
        input_tokens=counts.get("input_tokens", 0),
        output_tokens=counts.get("output_tokens", 0),
        latency={s: _latency(samples[s], measured[s]) for s in STAGES if s in samples},
    )


def _latency(ordered: list[float], measured: int) -> Latency:
    def rank(p: float) -> float:  # nearest rank
        return ordered[min(len(ordered) - 1, max(0, round(p * len(ordered) + 0.5) - 1))]

    return Latency(measured, rank(0.5), rank(0.9), rank(0.99), ordered[-1])


def generated() -> list[Generated]:
    """The modules providers wrote in this process, in order (the pytest plugin's summary)."""
    counters = _counters()
    with counters.lock:
        return list(counters.generated)


@contextlib.contextmanager
def stage(
    name: str, module: str, attributes: Mapping[str, _telemetry.AttributeValue] | None = None, *, spanned: bool = True
) -> Iterator[Any | None]:
    """Time a stage of ``module``'s generation: a DEBUG line, a latency sample and (when
    ``spanned``) a child span ``autogen_hook.<name>`` carrying ``attributes``."""
    begin = time.perf_counter()
    attributes = attributes or {}
    labels = {"autogen_hook.module": module, **{f"autogen_hook.{k}": v for k, v in attributes.items()}}
    span = _telemetry.span(f"autogen_hook.{name}", labels) if spanned else contextlib.nullcontext()
    outcome = "failed"
    try:
        with span as current:
            yield current
        outcome = "done"
    finally:
        seconds = time.perf_counter() - begin
        _sample(name, seconds)
        more = "".join(f" {k}={v}" for k, v in attributes.items())
        log.debug("autogen-hook: %s: %s%s %s in %.3f s", module, name, more, outcome, seconds)


@contextlib.contextmanager
def generation(module: str, names: tuple[str, ...]) -> Iterator[Callable[[Any], None]]:
    """The span of one request for ``names`` of ``module``; the block reports its
    GenerationResult through the function it is given. A store answer is a hit, anything
    else a miss; an error is a failure counted by its class name."""
    begin = time.perf_counter()
    labels: dict[str, _telemetry.AttributeValue] = {"autogen_hook.module": module, "autogen_hook.names": names}
    with _telemetry.span("autogen_hook.generate", labels) as current:
        try:
            yield lambda result: _generated(current, result, time.perf_counter() - begin)
        except BaseException as exc:
            counters = _counters()
            with counters.lock:
                counters.counts["store_misses"] += 1
                counters.failures[type(exc).__name__] += 1
            log.debug("autogen-hook: %s: failed after %.3f s (%s)", module, time.perf_counter() - begin,
                      type(exc).__name__)
            raise


def _generated(current: Any | None, result: Any, seconds: float) -> None:
    usage = result.usage
    _telemetry.set_attributes(current, {
        "autogen_hook.from_store": result.from_store,
        "autogen_hook.provider": result.provider,
        "autogen_hook.model": result.model,
        "autogen_hook.attempts": result.attempts,
        "gen_ai.usage.input_tokens": usage.input_tokens,
        "gen_ai.usage.output_tokens": usage.output_tokens,
    })
    counters = _counters()
    with counters.lock:
        counters.counts["store_hits" if result.from_store else "store_misses"] += 1
        if not result.from_store:
            counters.counts["generations"] += 1
            counters.generated.append(Generated(
                result.module, result.names, result.provider, result.model, seconds, result.attempts, result.path
            ))
    if result.from_store:
        log.debug("autogen-hook: %s: served from the store in %.3f s", result.module, seconds)
        return
    _sample("generation", seconds)
    log.debug(
        "autogen-hook: %s: generated by %s (%s) in %.3f s, %d attempt(s), %d input and %d output tokens",
        result.module, result.provider, result.model, seconds, result.attempts, usage.input_tokens,
        usage.output_tokens,
    )


@contextlib.contextmanager
def provider_call(provider: str, request: Any) -> Iterator[Callable[[Any], None]]:
    """One call of a provider (one try): a GenAI client span, a DEBUG line, the counters.
    The block reports the Completion through the function it is given."""
    begin = time.perf_counter()
    model = request.model
    labels = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": provider,
        "gen_ai.request.max_tokens": request.max_tokens,
        "autogen_hook.module": request.module,
        **({"gen_ai.request.model": model} if model else {}),
    }
    count("provider_calls")
    outcome = "failed"
    with _telemetry.span(f"chat {model}" if model else "chat", labels, client=True) as current:
        try:
            yield lambda completion: _answered(current, completion)
            outcome = "answered"
        finally:
            seconds = time.perf_counter() - begin
            _sample("provider", seconds)
            log.debug("autogen-hook: %s: %s call %s in %.3f s", request.module, provider, outcome, seconds)


def _answered(current: Any | None, completion: Any) -> None:
    usage = completion.usage
    _telemetry.set_attributes(current, {
        "gen_ai.response.model": completion.model,
        "gen_ai.usage.input_tokens": usage.input_tokens,
        "gen_ai.usage.output_tokens": usage.output_tokens,
        "gen_ai.response.finish_reasons": ("length",) if completion.truncated else ("stop",),
    })
    counters = _counters()
    with counters.lock:
        counters.counts["input_tokens"] += usage.input_tokens
        counters.counts["output_tokens"] += usage.output_tokens

