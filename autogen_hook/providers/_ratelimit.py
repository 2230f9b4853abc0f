"""A client-side sliding-window limit, for services that document theirs (Codegen)."""

from __future__ import annotations

import asyncio
import os
import threading
import time
import weakref
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
        _windows.add(self)

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


_windows: weakref.WeakSet[SlidingWindow] = weakref.WeakSet()


def _renew_locks() -> None:
    """A lock held by another thread at fork stays held in the child: give each window a new one."""
    for window in _windows:
        window._lock = threading.Lock()


os.register_at_fork(after_in_child=_renew_locks)
