"""HTTP plumbing shared by the built-in providers: one pooled client, the server each talks to
(``Service``), error mapping."""

from __future__ import annotations

import email.utils
import json
import os
import time
from dataclasses import dataclass

import httpx

from .._errors import (
    AuthenticationError,
    ProviderHTTPError,
    ProviderResponseError,
    ProviderUnavailableError,
    SettingsError,
)
from .._version import __version__

TRANSIENT_STATUSES = frozenset({408, 409, 429, 529}) | frozenset(range(500, 600))
CONNECT_TIMEOUT = 10.0


def new_client(*, tls: bool = True) -> httpx.AsyncClient:
    """The provider's pooled client; timeouts are set per request (see ``request_timeout``).

    ``tls=False`` for a plain-http server (a local Ollama or vLLM): loading the CA
    bundle costs ~90 ms on the event loop, and that client never makes a TLS
    connection, since it never follows a redirect.
    """
    return httpx.AsyncClient(
        timeout=httpx.Timeout(120.0, connect=CONNECT_TIMEOUT),
        limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
        headers={"user-agent": f"autogen-hook/{__version__}"},
        verify=tls,
        follow_redirects=False,
    )


def request_timeout(seconds: float) -> httpx.Timeout:
    """httpx's limits for one exchange: each read within ``seconds`` (the whole exchange's
    deadline is kept around it), the connection within ``CONNECT_TIMEOUT`` at most. A deadline
    already spent still gets a positive value: httpx refuses others."""
    seconds = max(seconds, 0.001)
    return httpx.Timeout(seconds, connect=min(CONNECT_TIMEOUT, seconds))


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

    def unreachable(
        self, exc: httpx.HTTPError, url: str, timeout: float
    ) -> ProviderUnavailableError:
        """A failure below HTTP; a timeout once connected is the answer being slow, not the
        server being away, and says so."""
        if isinstance(exc, httpx.TimeoutException) and not isinstance(exc, httpx.ConnectTimeout):
            return self.too_slow(url, timeout, "")
        hint = f"Is the server running? Check {self.base_variable} (now {self.base_url})."
        return unavailable(exc, self.provider, url, hint)

    def too_slow(self, url: str, timeout: float, received: str) -> ProviderUnavailableError:
        return ProviderUnavailableError(
            f"{self.provider} at {url} gave no whole answer within {timeout:g} s{received} "
            "(the timeout setting, AUTOGEN_HOOK_TIMEOUT, bounds each request's whole answer). "
            "Raise timeout for a slow model or server, or check that the server is not stuck.",
            provider=self.provider,
            transient=True,
        )

    def oversized(self, url: str, limit: int, max_tokens: int) -> ProviderResponseError:
        return ProviderResponseError(
            f"the answer from {self.provider} at {url} passed {limit:,} characters, more than "
            f"an answer within max-tokens ({max_tokens} tokens) can be, so it was cut off "
            "unread. The server may ignore the token limit (cap it there too: llama.cpp "
            f"--n-predict, Ollama num_predict), or {self.base_variable} does not point at "
            f"{self.api}.",
            provider=self.provider,
        )

    def wrong_shape(self, url: str, what: str, body: str, problems: int) -> ProviderResponseError:
        return ProviderResponseError(
            f"{self.provider} at {url} answered with something that is not {what} "
            f"({problems} problems, body starts {body[:200]!r}). "
            f"Check that {self.base_variable} points at {self.api}.",
            provider=self.provider,
        )


def check_status(response: httpx.Response, service: Service) -> None:
    """Raise the matching ProviderHTTPError for an error status (the body has been read)."""
    status = response.status_code
    if status < 400:
        return
    request = response.request
    where = f"{service.provider} answered HTTP {status} for {request.method} {request.url}"
    raise http_error(service, status, where, body_excerpt(response), retry_after(response.headers))


def http_error(
    service: Service, status: int, where: str, excerpt: str, retry_after: float | None = None
) -> ProviderHTTPError:
    """The error for an HTTP status (or a streamed error of that kind): what, why, and what to
    do, naming the service's credential and base-URL variables."""
    provider = service.provider
    said = f"{where}: {sentence(excerpt)}"
    if status in (401, 403):
        return AuthenticationError(
            f"{said} The credential was refused: check {service.credential}.",
            provider=provider,
            status=status,
            body=excerpt,
        )
    model_hint = (
        "the model setting (it applies to every provider of a chain; give one provider its own "
        'model with provider = ["openai:gpt-4o-mini", "anthropic:claude-sonnet-4-6"])'
    )
    if status in (400, 413) and is_context_overflow(excerpt):
        hint = (
            " The prompt and the answer's token limit do not fit the model's context: lower "
            "max-tokens (the answer's limit) or context-budget (the project code in the "
            "prompt), or use a model with a larger context."
        )
    else:
        hint = {
            400: f" The request was rejected: check {model_hint}.",
            404: f" Check {service.base_variable} and {model_hint}.",
            429: " Rate limited: wait a little or lower the request rate.",
        }.get(status, " The server failed: try again later." if status >= 500 else "")
    return ProviderHTTPError(
        f"{said}{hint}",
        provider=provider,
        status=status,
        body=excerpt,
        transient=status in TRANSIENT_STATUSES,
        retry_after=retry_after,
    )


# How servers say a prompt plus the answer's limit is more than the context holds: llama.cpp,
# vLLM and OpenAI ("maximum context length", code context_length_exceeded), Anthropic.
_CONTEXT_OVERFLOW = (
    "exceeds the available context size",
    "maximum context length",
    "context_length_exceeded",
    "context length exceeded",
    "prompt is too long",
)


def is_context_overflow(message: str) -> bool:
    """Whether an error message says the request does not fit the model's context window."""
    lowered = message.lower()
    return any(phrase in lowered for phrase in _CONTEXT_OVERFLOW)


def sentence(text: str) -> str:
    """``text`` ending in exactly one full stop (servers' messages often bring their own)."""
    return text if text.endswith((".", "!", "?")) else f"{text}."


def unavailable(exc: httpx.HTTPError, provider: str, url: str, hint: str) -> ProviderUnavailableError:
    """A transient error for a failure below HTTP (refused, reset, timed out, cut)."""
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
    detail = str(exc) or type(exc).__name__
    return ProviderUnavailableError(
        f"the request to {provider} at {url} {kind} ({detail}). {hint}",
        provider=provider,
        transient=True,
    )


def body_excerpt(response: httpx.Response, limit: int = 300) -> str:
    """The error message from a JSON error body, else the start of the body."""
    text = response.text
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        error = data.get("error", data)
        message = error.get("message") if isinstance(error, dict) else error
        if isinstance(message, str) and message:
            text = message
    return shorten(text, limit) or "(empty body)"


def shorten(text: str, limit: int = 300) -> str:
    """``text`` on one line, cut to ``limit`` characters."""
    text = " ".join(text.split())
    return (text[:limit] + "...") if len(text) > limit else text


def retry_after(headers: httpx.Headers) -> float | None:
    """Seconds the server asked us to wait: ``retry-after-ms``, or ``Retry-After`` in seconds or as a date."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            return max(0.0, float(raw_ms) / 1000)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class PooledClient:
    """Base of the built-in providers: one pooled HTTP client per instance, made on first use."""

    _client: httpx.AsyncClient | None = None
    _service: Service
    base_url: str
    probe_path: str  # a cheap GET that needs the credential (autogen-hook doctor --online)

    def _headers(self) -> dict[str, str]:
        raise NotImplementedError

    async def probe(self, timeout: float) -> str:
        """One cheap request that needs the credential; what it got, or the ProviderError."""
        url = f"{self.base_url}{self.probe_path}"
        try:
            response = await self._http().get(url, headers=self._headers(), timeout=request_timeout(timeout))
        except httpx.HTTPError as exc:
            raise self._service.unreachable(exc, url, timeout) from None
        check_status(response, self._service)
        return f"HTTP {response.status_code} for GET {url}"

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = new_client(tls=not self.base_url.lower().startswith("http://"))
        return self._client

    async def aclose(self) -> None:
        """Release connections; called once at interpreter exit."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None
