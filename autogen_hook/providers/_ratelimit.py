"""Time for the provider layer: one clock, and the one rate limiter built on it.

Everything that waits on a schedule (the ``rate-limit`` setting, Codegen's documented
limits, the circuit breaker's cool-down, the retry budget) reads a :class:`Clock`, so
tests move time instead of sleeping.
"""

from __future__ import annotations

import asyncio
import math
import os
import threading
import time
import weakref
from collections import deque


class Clock:
    """Monotonic seconds and sleeping; tests substitute a clock that only moves when told."""

    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


MONOTONIC = Clock()


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
        _windows.add(self)

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


_windows: weakref.WeakSet[SlidingWindow] = weakref.WeakSet()


def _renew_locks() -> None:
    """A lock held by another thread at fork stays held in the child: give each window a new one."""
    for window in _windows:
        window._lock = threading.Lock()


os.register_at_fork(after_in_child=_renew_locks)
