"""The client-side sliding window, on a clock the test moves."""

from __future__ import annotations

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
