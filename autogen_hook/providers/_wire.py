"""One exchange with a provider's server: a JSON answer or an SSE stream, every failure mapped.

Providers describe their server once (``Service``) and hand stream events to a
small parser of their own format; sending, status checks, cut streams, error
events and malformed answers are handled here, the same for every provider.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from .._errors import ProviderError, ProviderResponseError, ProviderUnavailableError, SettingsError
from ._base import Completion, CompletionRequest, Progress, ProgressCallback
from ._http import check_status, http_error, request_timeout, unavailable
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


@dataclass(frozen=True)
class Service:
    """A provider's server as its error messages name it."""

    provider: str
    base_url: str
    base_variable: str  # where the base URL comes from, e.g. OPENAI_BASE_URL
    credential: str  # what to check when the server refuses the credential
    api: str  # what the base URL should point at, e.g. "an OpenAI-compatible /v1 endpoint"

    @classmethod
    def from_env(
        cls, provider: str, base_variable: str, default_base_url: str, credential: str, api: str
    ) -> Service:
        """The service whose base URL is ``base_variable``'s value, else ``default_base_url``."""
        base_url = (os.environ.get(base_variable) or default_base_url).strip().rstrip("/")
        if not base_url.lower().startswith(("http://", "https://")):
            raise SettingsError(  # retrying would not help
                f"{base_variable}: expected an http:// or https:// URL of {api}, got {base_url!r}"
            )
        return cls(provider, base_url, base_variable, credential, api)

    def unreachable(self, exc: httpx.HTTPError, url: str) -> ProviderUnavailableError:
        hint = f"Is the server running? Check {self.base_variable} (now {self.base_url})."
        return unavailable(exc, self.provider, url, hint)

    def wrong_shape(self, url: str, what: str, body: str, problems: int) -> ProviderResponseError:
        return ProviderResponseError(
            f"{self.provider} at {url} answered with something that is not {what} "
            f"({problems} problems, body starts {body[:200]!r}). "
            f"Check that {self.base_variable} points at {self.api}.",
            provider=self.provider,
        )


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
    complete: bool  # the stream said the answer is whole

    def feed(self, event: ServerSentEvent) -> None:
        """Take one event; raise StreamErrorEvent or pydantic's ValidationError."""
        ...

    def completion(self) -> Completion: ...


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
    the SSE stream read by a new ``parser``."""
    if not request.stream:
        response = await send(
            client, service, "POST", url, headers=headers, timeout=request.timeout, body=body
        )
        return parse(response)
    return await _stream(
        client, service, url, body=body, headers=headers, timeout=request.timeout,
        parser=parser(), fallback=parse, progress=progress,
    )


async def send(
    client: httpx.AsyncClient,
    service: Service,
    method: str,
    url: str,
    *,
    headers: dict[str, str],
    timeout: float,
    body: dict[str, Any] | None = None,
) -> httpx.Response:
    """One request whose answer is read whole; an error status raises."""
    try:
        response = await client.request(
            method, url, json=body, headers=headers, timeout=request_timeout(timeout)
        )
    except httpx.HTTPError as exc:
        raise service.unreachable(exc, url) from None
    check_status(response, service)
    return response


def decode(model: type[_Model], response: httpx.Response, service: Service, what: str) -> _Model:
    """``response``'s JSON body as ``model``, or a ProviderResponseError naming ``what`` was expected."""
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        url = str(response.request.url)
        raise service.wrong_shape(url, what, response.text, exc.error_count()) from None


async def _stream(
    client: httpx.AsyncClient,
    service: Service,
    url: str,
    *,
    body: dict[str, Any],
    headers: dict[str, str],
    timeout: float,
    parser: StreamParser,
    fallback: Callable[[httpx.Response], Completion],
    progress: ProgressCallback | None,
) -> Completion:
    """POST ``body`` and build the completion from the SSE stream that answers it.

    ``timeout`` bounds each wait for data, not the whole stream. A server that
    answers with plain JSON instead of a stream is read with ``fallback``. A
    stream that ends or breaks before its end marker raises a transient error:
    the whole completion is then asked again.
    """
    received = 0
    streaming = False
    data = ""
    try:
        async with client.stream(
            "POST", url, json=body, headers=headers, timeout=request_timeout(timeout)
        ) as response:
            streaming = _is_event_stream(response)
            if not streaming:
                await response.aread()
                check_status(response, service)
                return fallback(response)
            async for event in iter_events(response.aiter_lines()):
                received += 1
                data = event.data
                before = parser.tokens
                parser.feed(event)
                if progress is not None and parser.tokens != before:
                    progress(Progress(tokens=parser.tokens))
    except StreamErrorEvent as exc:
        raise _stream_error(service, url, received, exc) from None
    except ValidationError as exc:
        raise service.wrong_shape(url, "a stream event", data, exc.error_count()) from None
    except httpx.HTTPError as exc:
        if parser.complete:  # only the trailing usage report was lost
            return parser.completion()
        if not streaming:
            raise service.unreachable(exc, url) from None
        raise _cut(service, url, received, str(exc) or type(exc).__name__) from None
    if not parser.complete:
        raise _cut(service, url, received, "the connection closed before the end of the answer")
    return parser.completion()


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
