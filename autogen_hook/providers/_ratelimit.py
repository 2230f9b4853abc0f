"""Time for the provider layer: one clock, and the one rate limiter built on it.

Everything that waits on a schedule (the ``rate-limit`` setting, Codegen's documented
limits and polls, the circuit breaker's cool-down, the retry budget) reads :func:`clock`:
``STATE.clock`` when a test injected one, else monotonic time, so tests move time instead
of sleeping. The process's windows live on ``STATE`` too (see :func:`window`).
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import deque

from .._state import STATE


class Clock:
    """Monotonic seconds and sleeping; tests substitute a clock that only moves when told."""

    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


MONOTONIC = Clock()


def clock() -> Clock:
    """The clock every schedule reads: the injected ``STATE.clock``, else monotonic time."""
    injected: Clock | None = STATE.clock
    return injected or MONOTONIC


class SlidingWindow:
    """At most ``limit`` starts in any ``period`` seconds, across every thread and event loop.

    Each caller books the earliest free start under a thread lock and then
    sleeps until it, so no asyncio primitive ties the window to one loop.
    ``SlidingWindow(1, 60 / rate)`` spaces starts ``60 / rate`` seconds apart.
    """

    def __init__(self, limit: int, period: float, clock: Clock = MONOTONIC) -> None:
        self.limit = limit
        self.period = period
        self.clock = clock
        self._starts: deque[float] = deque()
        self._lock = threading.Lock()

    async def wait(self, within: float = math.inf) -> bool:
        """Wait until one more start fits; False at once (nothing booked) if that is more
        than ``within`` seconds away, so a caller's deadline also bounds this wait."""
        delay = self.reserve(within)
        if delay is None:
            return False
        if delay > 0:
            await self.clock.sleep(delay)
        return True

    def reserve(self, within: float = math.inf) -> float | None:
        """Book the next free start and return the seconds until it; None if it is further
        away than ``within``."""
        with self._lock:
            now = self.clock.now()
            while self._starts and self._starts[0] <= now - self.period:
                self._starts.popleft()
            start = now
            if len(self._starts) >= self.limit:
                start = max(now, self._starts[-self.limit] + self.period)
            if start - now > within:
                return None
            self._starts.append(start)
            return start - now


def window(key: tuple[str, str], limit: int, period: float) -> SlidingWindow:
    """The process's window ``key`` (``("codegen", "creates")``), on :func:`clock`; a new one if
    its limit or period changed (a setting did)."""
    with STATE.lock:
        found: SlidingWindow | None = STATE.limiters.get(key)
        if found is None or (found.limit, found.period) != (limit, period):
            found = STATE.limiters[key] = SlidingWindow(limit, period, clock())
        return found
