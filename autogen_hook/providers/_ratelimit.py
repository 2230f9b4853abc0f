"""A client-side sliding-window limit, for services that document theirs (Codegen)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable


class SlidingWindow:
    """At most ``limit`` starts in any ``period`` seconds, across every thread and event loop.

    Each caller books the earliest free start under a thread lock and then
    sleeps until it, so no asyncio primitive ties the window to one loop.
    """

    def __init__(
        self, limit: int, period: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.period = period
        self._clock = clock
        self._starts: deque[float] = deque()
        self._lock = threading.Lock()

    async def wait(self) -> None:
        """Return when one more start fits in the window."""
        delay = self.reserve()
        if delay > 0:
            await asyncio.sleep(delay)

    def reserve(self) -> float:
        """Book the next free start; the seconds until it."""
        with self._lock:
            now = self._clock()
            while self._starts and self._starts[0] <= now - self.period:
                self._starts.popleft()
            start = now
            if len(self._starts) >= self.limit:
                start = max(now, self._starts[-self.limit] + self.period)
            self._starts.append(start)
            return start - now
