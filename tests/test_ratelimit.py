"""The client-side sliding window, on a clock the test moves."""

from __future__ import annotations

import os
import signal

import pytest

from autogen_hook.providers._ratelimit import SlidingWindow


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_starts_within_the_limit_wait_nothing() -> None:
    window = SlidingWindow(3, 10.0, Clock())
    assert [window.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]


def test_a_full_window_books_the_next_free_start() -> None:
    clock = Clock()
    window = SlidingWindow(2, 10.0, clock)
    assert [window.reserve() for _ in range(2)] == [0.0, 0.0]
    assert window.reserve() == 10.0  # the oldest start leaves the window at t=10
    clock.now = 4.0
    assert window.reserve() == 6.0  # the second start at t=0 also frees t=10
    assert window.reserve() == 16.0  # then t=20, after the two booked for t=10


def test_old_starts_leave_the_window() -> None:
    clock = Clock()
    window = SlidingWindow(2, 10.0, clock)
    window.reserve()
    clock.now = 5.0
    window.reserve()
    clock.now = 10.0
    assert window.reserve() == 0.0  # t=0 has left, t=5 and t=10 fill it again
    assert window.reserve() == 5.0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_does_not_inherit_a_held_lock() -> None:
    window = SlidingWindow(1, 10.0)
    with window._lock:  # as if another thread were booking at the moment of the fork
        pid = os.fork()
        if pid == 0:  # the child: would block forever on the inherited lock
            signal.alarm(5)
            window.reserve()
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
