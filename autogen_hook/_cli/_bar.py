"""``warm``'s progress bar: one line on a terminal's stderr, rewritten as modules finish.

It replaces the pipeline's status line for the run (which would fight it for the line), and
shows only where that line would (see ``_progress.wanted``). A thread redraws the elapsed
time twice a second; modules report from the event loop's thread.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from typing import TextIO

_WIDTH = 24  # characters of the bar itself


class Bar:
    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self.finished = 0
        self.failed = 0
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick, name="autogen-hook-bar", daemon=True)
        self._ticker.start()

    def done(self, failed: bool) -> None:
        """One module more is finished."""
        with self._lock:
            self.finished += 1
            self.failed += failed
        self.draw()

    def draw(self) -> None:
        filled = _WIDTH * self.finished // max(self.total, 1)
        text = (f"autogen-hook warm [{'#' * filled}{'.' * (_WIDTH - filled)}] {self.finished}/{self.total} "
                f"modules · {self.failed} failed · {time.monotonic() - self.started:.1f}s")
        self._write(text[: shutil.get_terminal_size((100, 20)).columns - 1])

    def close(self) -> None:
        """Stop and wipe the line, so the summary starts at the margin."""
        self._stop.set()
        self._ticker.join()
        self._write("")

    def _tick(self) -> None:
        while not self._stop.wait(0.5):
            self.draw()

    def _write(self, text: str) -> None:
        with self._lock:
            try:
                self.stream.write(f"\r\x1b[2K{text}")
                self.stream.flush()
            except (OSError, ValueError):
                pass  # a closed stderr must not stop the run
