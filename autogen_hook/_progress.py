"""The live status line on stderr while modules are generated.

One line, rewritten in place: module, provider, elapsed time, tokens received
(for agents: run status). Shown only on an interactive terminal, never
in CI (``CI`` set), with ``TERM=dumb``, or when the ``progress`` setting is off.
An agent run's page is also printed once on a line of its own, since the
status line may be too narrow for it; the package's log records clear the line
before they are written, so they never run into it. Everything here runs on the
background event loop, but for ``close()`` (``STATE.close``), which may come from any thread.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from typing import TextIO

from ._state import STATE
from .providers import Progress

_REFRESH = 0.2  # seconds between redraws of the elapsed time


def wanted(enabled: bool, stream: TextIO | None = None) -> bool:
    """Whether a status line belongs on ``stream`` (stderr by default)."""
    stream = stream or sys.stderr
    return (
        enabled
        and not os.environ.get("CI")
        and os.environ.get("TERM") != "dumb"
        and hasattr(stream, "isatty")
        and stream.isatty()
    )


@dataclass
class Job:
    """One module being generated."""

    module: str
    board: StatusLine
    provider: str = ""
    started: float = field(default_factory=time.monotonic)
    tokens: int = 0
    status: str | None = None
    url: str | None = None

    def using(self, provider: str) -> Job:
        self.provider, self.tokens, self.status, self.url = provider, 0, None, None
        self.board.draw()
        return self

    def __call__(self, progress: Progress) -> None:
        """The provider's progress callback."""
        if progress.url and progress.url != self.url:
            self.board.note(f"autogen-hook: {self.module} is being written by a {self.provider} "
                            f"agent; watch it at {progress.url}")
        self.tokens = progress.tokens or self.tokens
        self.status = progress.status or self.status
        self.url = progress.url or self.url
        self.board.draw()

    def finish(self) -> None:
        self.board.remove(self)


class StatusLine:
    """All jobs of the process, drawn as one line; a ticker redraws the elapsed time."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.jobs: list[Job] = []
        self._ticker: asyncio.Task[None] | None = None
        self._drawn = 0.0

    def start(self, module: str) -> Job:
        job = Job(module, self)
        self.jobs.append(job)
        if self._ticker is None:
            self._ticker = asyncio.get_running_loop().create_task(self._tick())
        return job

    def remove(self, job: Job) -> None:
        if job in self.jobs:  # close() may have dropped it
            self.jobs.remove(job)
        if not self.jobs:
            if self._ticker is not None:
                self._ticker.cancel()
                self._ticker = None
            self._write("")
        else:
            self.draw(force=True)

    def note(self, text: str) -> None:
        """A line that stays above the status line."""
        self._write(text + "\n", clip=False)
        self.draw(force=True)

    def clear(self) -> None:
        """Wipe the line so that other output starts at the left margin; the ticker redraws it."""
        if self.jobs:
            self._write("")

    def close(self) -> None:
        """Wipe the line for good: no job is drawn any more."""
        self.clear()
        self.jobs = []

    def draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.jobs and (force or now - self._drawn >= _REFRESH / 2):
            self._drawn = now
            self._write(self.render(now))

    def render(self, now: float) -> str:
        elapsed = f"{now - min(j.started for j in self.jobs):.1f}s"
        if len(self.jobs) > 1:
            names = ", ".join(j.module for j in self.jobs[:3]) + (", …" if len(self.jobs) > 3 else "")
            tokens = sum(j.tokens for j in self.jobs)
            return f"autogen-hook: generating {len(self.jobs)} modules ({names}) · {elapsed} · {tokens} tokens"
        job = self.jobs[0]
        detail = [job.status or f"{job.tokens} tokens"]  # an agent's page is on the line above
        return " · ".join([f"autogen-hook: generating {job.module}", job.provider or "…", elapsed, *detail])

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(_REFRESH)
            self.draw(force=True)

    def _write(self, text: str, *, clip: bool = True) -> None:
        width = shutil.get_terminal_size((100, 20)).columns - 1
        if clip and len(text) > width:
            text = text[: max(width - 1, 0)] + "…"
        try:
            self.stream.write(f"\r\x1b[2K{text}")
            self.stream.flush()
        except (OSError, ValueError):
            pass  # a closed or broken stderr must not fail generation


class _ClearLineFirst(logging.Filter):
    """Runs before each of the package's log records is written: the record gets a clean line."""

    def filter(self, record: logging.LogRecord) -> bool:
        line: StatusLine | None = STATE.status_line
        if line is not None:
            line.clear()
        return True


def start(module: str, enabled: bool) -> Job | None:
    """A job on the process's status line (``STATE.status_line``), or None when no line
    should be shown."""
    if not wanted(enabled):
        return None
    line: StatusLine | None = STATE.status_line
    if line is None or line.stream is not sys.stderr:
        logger = logging.getLogger("autogen_hook")
        if not any(isinstance(f, _ClearLineFirst) for f in logger.filters):
            logger.addFilter(_ClearLineFirst())
        line = STATE.status_line = StatusLine(sys.stderr)
    return line.start(module)
