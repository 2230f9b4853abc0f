"""Server-sent events (the WHATWG ``text/event-stream`` format) read from an HTTP response.

Only what a completion stream needs: ``event`` and ``data`` fields, multi-line
data joined by ``\\n``, ``:`` comment lines skipped, a blank line dispatching the
event. ``id`` and ``retry`` are ignored because a cut stream is retried from
scratch, never resumed. An event left without its closing blank line when the
stream ends is discarded, as the specification says.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from typing import NamedTuple


class ServerSentEvent(NamedTuple):
    event: str
    data: str


async def iter_events(lines: AsyncIterable[str]) -> AsyncIterator[ServerSentEvent]:
    """The events of a stream given as lines without their endings (httpx's ``aiter_lines``)."""
    event = ""
    data: list[str] = []
    async for line in lines:
        if not line:
            if data:
                yield ServerSentEvent(event or "message", "\n".join(data))
            event, data = "", []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
