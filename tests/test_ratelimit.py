"""The one rate limiter (a sliding window), on a clock the test moves."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest
from conftest import FakeClock

from autogen_hook._state import STATE
from autogen_hook.providers import _ratelimit
from autogen_hook.providers._ratelimit import SlidingWindow


def test_starts_within_the_limit_wait_nothing() -> None:
    window = SlidingWindow(3, 10.0, FakeClock())
    assert [window.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]


def test_a_full_window_books_the_next_free_start() -> None:
    clock = FakeClock()
    window = SlidingWindow(2, 10.0, clock)
    assert [window.reserve() for _ in range(2)] == [0.0, 0.0]
    assert window.reserve() == 10.0  # the oldest start leaves the window at t=10
    clock.time = 4.0
    assert window.reserve() == 6.0  # the second start at t=0 also frees t=10
    assert window.reserve() == 16.0  # then t=20, after the two booked for t=10


def test_old_starts_leave_the_window() -> None:
    clock = FakeClock()
    window = SlidingWindow(2, 10.0, clock)
    window.reserve()
    clock.time = 5.0
    window.reserve()
    clock.time = 10.0
    assert window.reserve() == 0.0  # t=0 has left, t=5 and t=10 fill it again
    assert window.reserve() == 5.0


def test_one_start_per_period_spaces_starts_evenly() -> None:
    clock = FakeClock(100.0)
    window = SlidingWindow(1, 2.0, clock)  # the rate-limit setting at 30 a minute

    async def three_starts() -> list[float]:
        starts = []
        for _ in range(3):
            await window.wait()
            starts.append(clock.now())
        return starts

    assert asyncio.run(three_starts()) == [100.0, 102.0, 104.0]
    assert clock.slept == [2.0, 2.0]


def test_a_start_beyond_the_callers_deadline_is_refused_and_not_booked() -> None:
    clock = FakeClock()
    window = SlidingWindow(1, 30.0, clock)
    assert window.reserve() == 0.0
    assert window.reserve(within=5.0) is None  # the next free start is 30 s away
    assert asyncio.run(window.wait(within=5.0)) is False
    assert clock.slept == []
    assert window.reserve() == 30.0  # the refusals booked nothing


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_does_not_inherit_a_held_lock() -> None:
    parents = _ratelimit.window(("test", "fork"), 1, 10.0)
    with STATE.lock, parents._lock:  # as if other threads were booking at the moment of the fork
        pid = os.fork()
        if pid == 0:  # the child: would block forever on an inherited lock
            signal.alarm(5)
            childs = _ratelimit.window(("test", "fork"), 1, 10.0)
            os._exit(0 if childs is not parents and childs.reserve() == 0.0 else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
