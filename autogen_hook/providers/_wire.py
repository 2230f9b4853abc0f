"""One exchange with a provider's server: a JSON answer or an SSE stream, every failure mapped.

Providers describe their server once (``_http.Service``) and hand stream events to a
small parser of their own format; sending, status checks, cut streams, error
events and malformed answers are handled here, the same for every provider.
Every exchange has a deadline (its ``timeout`` bounds the whole answer, not each
read) and a size limit derived from ``max_tokens``: nothing is read past either.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterable, AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from .._errors import ProviderError, ProviderUnavailableError
from ._base import Completion, CompletionRequest, Progress, ProgressCallback
from ._http import Service, check_status, http_error, request_timeout
from ._sse import ServerSentEvent, iter_events

_Model = TypeVar("_Model", bound=BaseModel)

# The HTTP status an error *inside* a stream stands for (Anthropic's documented error types,
# OpenAI's error types and codes); it decides the message's hint and whether it is transient.
# An unknown type counts as a server failure (500, transient): the server had accepted the
# request when it began to stream.
_STREAM_ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "rate_limit_exceeded": 429,
    "api_error": 500,
    "server_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}


# How much of an answer is read: a model that honours max-tokens cannot send more.
# Tokenizers average 3 to 4 characters a token on code (cl100k, o200k, Llama 3, Qwen,
# SmolLM2), so 16 is four times what a real answer needs: room for JSON escaping in a whole
# body. A stream sends each token in an event of its own, whose envelope measured 100 to 400
# characters (OpenAI, Anthropic, llama.cpp), hence 1,024 a token for the stream itself. The
# margin covers the envelope of short answers and error bodies.
ANSWER_CHARS_PER_TOKEN = 16
STREAM_CHARS_PER_TOKEN = 1024
MARGIN = 64 * 1024
_EOL = re.compile(r"\r\n|\r|\n")
_T = TypeVar("_T")


def answer_limit(max_tokens: int) -> int:
    """Characters of answer text (and bytes of a whole body) ``max_tokens`` tokens can take."""
    return max_tokens * ANSWER_CHARS_PER_TOKEN + MARGIN


def stream_limit(max_tokens: int) -> int:
    """Characters of event stream that can carry ``max_tokens`` tokens."""
    return max_tokens * STREAM_CHARS_PER_TOKEN + MARGIN


class StreamErrorEvent(Exception):
    """Raised by a stream parser when the server reports an error inside its stream."""

    def __init__(self, kind: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status


class StreamParser(Protocol):
    """Builds one completion from a provider's stream events."""

    tokens: int  # text deltas received so far: the progress estimate
    chars: int  # characters of answer text received so far
    complete: bool  # the stream said the answer is whole

    def feed(self, event: ServerSentEvent) -> None:
        """Take one event; raise StreamErrorEvent or pydantic's ValidationError."""
        ...

    def completion(self) -> Completion: ...


class _Oversized(Exception):
    """An answer passed ``limit`` characters; raised where it is read, reported by its caller."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


@dataclass
class _Received:
    """How far an answer got, for the message when its deadline passes."""

    chars: int = 0
    events: int = 0

    def __str__(self) -> str:
        if self.events:
            return f" ({self.events} stream events had arrived)"
        if self.chars:
            return f" ({self.chars:,} characters had arrived)"
        return " (nothing had arrived)"


async def chat(
    client: httpx.AsyncClient,
    service: Service,
    url: str,
    *,
    body: dict[str, Any],
    headers: dict[str, str],
    request: CompletionRequest,
    parse: Callable[[httpx.Response], Completion],
    parser: Callable[[], StreamParser],
    progress: ProgressCallback | None,
) -> Completion:
    """POST a chat request: the whole answer read by ``parse``, or with ``request.stream``
    the SSE stream read by a new ``parser``; ``request.timeout`` bounds either as a whole."""
    if not request.stream:
        response = await send(
            client, service, "POST", url, headers=headers, timeout=request.timeout,
            max_tokens=request.max_tokens, body=body,
        )
        return parse(response)
    stream = _Stream(service, url, request, parser(), parse, progress)
    return await _within(request.timeout, stream.read(client, body, headers), stream.late)


async def send(
    client: httpx.AsyncClient,
    service: Service,
    method: str,
    url: str,
    *,
    headers: dict[str, str],
    timeout: float,
    max_tokens: int,
    body: dict[str, Any] | None = None,
) -> httpx.Response:
    """One request whose answer is read whole, within ``timeout`` and ``answer_limit``; an
    error status raises."""
    received = _Received()

    async def exchange() -> httpx.Response:
        try:
            async with client.stream(
                method, url, json=body, headers=headers, timeout=request_timeout(timeout)
            ) as response:
                whole = await _read_whole(response, answer_limit(max_tokens), received)
        except httpx.HTTPError as exc:
            raise service.unreachable(exc, url, timeout) from None
        except _Oversized as exc:
            raise service.oversized(url, exc.limit, max_tokens) from None
        check_status(whole, service)
        return whole

    def late() -> httpx.Response:
        raise service.too_slow(url, timeout, str(received))

    return await _within(timeout, exchange(), late)


def decode(model: type[_Model], response: httpx.Response, service: Service, what: str) -> _Model:
    """``response``'s JSON body as ``model``, or a ProviderResponseError naming ``what`` was expected."""
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        url = str(response.request.url)
        raise service.wrong_shape(url, what, response.text, exc.error_count()) from None


async def _within(seconds: float, work: Coroutine[Any, Any, _T], late: Callable[[], _T]) -> _T:
    """``work``'s result, or once ``seconds`` have passed (``work`` is then cancelled) what
    ``late()`` returns or raises."""
    try:
        return await asyncio.wait_for(work, seconds)
    except asyncio.TimeoutError:
        return late()


async def _read_whole(response: httpx.Response, limit: int, received: _Received) -> httpx.Response:
    """The response with its body read, never more than ``limit`` bytes of it (decoded).

    An error status keeps the first ``MARGIN`` bytes of its body instead: only an
    excerpt of it is shown, and its status must not turn into a size error.
    """
    declared = response.headers.get("content-length", "")
    failed = response.status_code >= 400
    if not failed and declared.isdecimal() and int(declared) > limit:
        raise _Oversized(limit)
    chunks: list[bytes] = []
    async for chunk in response.aiter_bytes():
        received.chars += len(chunk)
        if failed and received.chars >= MARGIN:
            chunks.append(chunk[: MARGIN - received.chars + len(chunk)])
            break
        if received.chars > limit:
            raise _Oversized(limit)
        chunks.append(chunk)
    headers = [(k, v) for k, v in response.headers.multi_items() if k != "content-encoding"]
    return httpx.Response(
        response.status_code, headers=headers, content=b"".join(chunks), request=response.request
    )


class _Stream:
    """One SSE answer: read event by event into ``parser``, within the size limits.

    A server that answers with plain JSON instead of a stream is read with
    ``fallback``. A stream that ends or breaks before its end marker raises a
    transient error: the whole completion is then asked again.
    """

    def __init__(
        self,
        service: Service,
        url: str,
        request: CompletionRequest,
        parser: StreamParser,
        fallback: Callable[[httpx.Response], Completion],
        progress: ProgressCallback | None,
    ) -> None:
        self.service = service
        self.url = url
        self.request = request
        self.parser = parser
        self.fallback = fallback
        self.progress = progress
        self.received = _Received()

    async def read(
        self, client: httpx.AsyncClient, body: dict[str, Any], headers: dict[str, str]
    ) -> Completion:
        service, url, parser, timeout = self.service, self.url, self.parser, self.request.timeout
        limit, max_tokens = answer_limit(self.request.max_tokens), self.request.max_tokens
        streaming = False
        data = ""
        try:
            async with client.stream(
                "POST", url, json=body, headers=headers, timeout=request_timeout(timeout)
            ) as response:
                streaming = _is_event_stream(response)
                if not streaming:
                    whole = await _read_whole(response, limit, self.received)
                    check_status(whole, service)
                    return self.fallback(whole)
                lines = _lines(response.aiter_text(), self.received, stream_limit(max_tokens))
                async for event in iter_events(lines):
                    self.received.events += 1
                    data = event.data
                    before = parser.tokens
                    parser.feed(event)
                    if parser.chars > limit:
                        raise _Oversized(limit)
                    if self.progress is not None and parser.tokens != before:
                        self.progress(Progress(tokens=parser.tokens))
        except StreamErrorEvent as exc:
            raise _stream_error(service, url, self.received.events, exc) from None
        except ValidationError as exc:
            raise service.wrong_shape(url, "a stream event", data, exc.error_count()) from None
        except _Oversized as exc:
            raise service.oversized(url, exc.limit, max_tokens) from None
        except httpx.HTTPError as exc:
            if parser.complete:  # only the trailing usage report was lost
                return parser.completion()
            if not streaming:
                raise service.unreachable(exc, url, timeout) from None
            raise _cut(service, url, self.received.events, str(exc) or type(exc).__name__) from None
        if not parser.complete:
            ended = "the connection closed before the end of the answer"
            raise _cut(service, url, self.received.events, ended)
        return parser.completion()

    def late(self) -> Completion:
        """The deadline passed: a whole answer still waiting for its usage report is used."""
        if self.parser.complete:
            return self.parser.completion()
        raise self.service.too_slow(self.url, self.request.timeout, str(self.received))


async def _lines(chunks: AsyncIterable[str], received: _Received, limit: int) -> AsyncIterator[str]:
    """The lines of an event stream (CRLF, LF or CR endings), counting every character and
    stopping past ``limit``: one endless line must not be buffered whole either."""
    pending: list[str] = []
    async for chunk in chunks:
        received.chars += len(chunk)
        if received.chars > limit:
            raise _Oversized(limit)
        if "\n" not in chunk and "\r" not in chunk:
            pending.append(chunk)
            continue
        text = "".join(pending) + chunk
        held = "\r" if text.endswith("\r") else ""  # perhaps the first half of a CRLF
        *lines, rest = _EOL.split(text[:-1] if held else text)
        pending = [rest + held]
        for line in lines:
            yield line
    lines = _EOL.split("".join(pending))
    if lines[-1] == "":
        lines.pop()
    for line in lines:
        yield line


def _is_event_stream(response: httpx.Response) -> bool:
    return response.status_code < 400 and response.headers.get("content-type", "").startswith(
        "text/event-stream"
    )


def _cut(service: Service, url: str, received: int, detail: str) -> ProviderUnavailableError:
    return ProviderUnavailableError(
        f"the stream from {service.provider} at {url} was cut after {received} chunks "
        f"({detail}). A partial answer is never used; a retry asks for the whole answer again.",
        provider=service.provider,
        transient=True,
    )


def _stream_error(
    service: Service, url: str, received: int, exc: StreamErrorEvent
) -> ProviderError:
    status = exc.status or _STREAM_ERROR_STATUS.get(exc.kind, 500)
    where = f"{service.provider} sent an error as chunk {received} of its stream from {url}"
    return http_error(service, status, where, f"{exc.message} ({exc.kind})")
