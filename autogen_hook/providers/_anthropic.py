"""Anthropic's Messages API (``POST /v1/messages``), streamed or whole.

System messages become the top-level ``system`` text; the other turns are sent
in order, consecutive turns of one role merged so that user and assistant
alternate. The stream's named events: ``message_start`` (model, input tokens),
``content_block_start``/``_delta``/``_stop`` (text comes from ``text_delta``),
``message_delta`` (output tokens so far), ``message_stop`` (the end), ``ping``,
and ``error`` (``overloaded_error`` and ``rate_limit_error`` are transient).
Progress counts the text deltas received.

Input tokens are ``input_tokens`` plus ``cache_read_input_tokens`` and
``cache_creation_input_tokens``: Anthropic counts cached prompt tokens apart, and
``input_tokens`` alone leaves them out. ``stop_reason: max_tokens`` marks a cut-off answer.
"""

from __future__ import annotations

import os
from typing import Any

import httpx
from pydantic import BaseModel

from .._errors import MissingCredentialsError
from ._base import Completion, CompletionRequest, Message, ProgressCallback, Usage
from ._http import PooledClient, Service
from ._sse import ServerSentEvent
from ._wire import StreamErrorEvent, chat, decode

DEFAULT_BASE_URL = "https://api.anthropic.com"
DEFAULT_MODEL = "claude-sonnet-4-6"
API_VERSION = "2023-06-01"


class _Usage(BaseModel):
    input_tokens: int | None = None  # message_delta may report only output_tokens
    cache_read_input_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    output_tokens: int | None = None

    @property
    def prompt(self) -> int | None:
        """Every input token, cached ones included; None if this report has no input count."""
        parts = (self.input_tokens, self.cache_read_input_tokens, self.cache_creation_input_tokens)
        return None if all(p is None for p in parts) else sum(p or 0 for p in parts)


class _Block(BaseModel):
    type: str
    text: str | None = None


class _Message(BaseModel):
    model: str = ""
    content: list[_Block]
    usage: _Usage | None = None
    stop_reason: str | None = None


class _Delta(BaseModel):
    type: str | None = None
    text: str | None = None
    stop_reason: str | None = None  # in message_delta


class _Error(BaseModel):
    type: str = "error"
    message: str = ""


class _Event(BaseModel):
    """The data of any stream event; which fields are set depends on ``type``."""

    type: str
    message: _Message | None = None
    content_block: _Block | None = None
    delta: _Delta | None = None
    usage: _Usage | None = None
    error: _Error | None = None


class AnthropicProvider(PooledClient):
    """Messages at ``ANTHROPIC_BASE_URL`` with ``ANTHROPIC_API_KEY``."""

    name = "anthropic"
    environment = ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL")
    probe_path = "/v1/models"

    def __init__(self) -> None:
        self._service = Service.from_env(
            self.name, "ANTHROPIC_BASE_URL", DEFAULT_BASE_URL,
            credential="ANTHROPIC_API_KEY",
            api="the Anthropic API or a gateway that speaks its Messages API",
        )
        self.base_url = self._service.base_url
        self.api_key = os.environ.get("ANTHROPIC_API_KEY") or None

    async def complete(
        self, request: CompletionRequest, progress: ProgressCallback | None = None
    ) -> Completion:
        return await chat(
            self._http(), self._service, f"{self.base_url}/v1/messages",
            body=_body(request), headers=self._headers(), request=request,
            parse=self._parse, parser=_EventParser, progress=progress,
        )

    def check(self) -> None:
        """Raise MissingCredentialsError if the key is missing where it is needed (Anthropic's API)."""
        if not self.api_key and self.base_url == DEFAULT_BASE_URL:
            raise MissingCredentialsError(
                "ANTHROPIC_API_KEY is not set. Set it to your Anthropic API key, or set "
                "ANTHROPIC_BASE_URL to an Anthropic-compatible gateway that needs no key, or "
                "choose another provider with AUTOGEN_HOOK_PROVIDER.",
                provider=self.name,
            )

    def _headers(self) -> dict[str, str]:
        self.check()
        headers = {"anthropic-version": API_VERSION}
        if self.api_key:
            headers["x-api-key"] = self.api_key
        return headers

    def _parse(self, response: httpx.Response) -> Completion:
        message = decode(_Message, response, self._service, "a Messages API message")
        usage = message.usage or _Usage()
        return Completion(  # an empty reply is left to validation, which asks again
            text="".join(b.text or "" for b in message.content if b.type == "text"),
            model=message.model,
            usage=Usage(usage.prompt or 0, usage.output_tokens or 0),
            truncated=message.stop_reason == "max_tokens",
        )


def _body(request: CompletionRequest) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": request.model or DEFAULT_MODEL,
        "max_tokens": request.max_tokens,
        "messages": _turns(request.messages),
        "stream": request.stream,
    }
    system = "\n\n".join(m.content for m in request.messages if m.role == "system")
    if system:
        body["system"] = system
    return body


def _turns(messages: tuple[Message, ...]) -> list[dict[str, str]]:
    """User and assistant turns, alternating as the API requires."""
    turns: list[dict[str, str]] = []
    for message in messages:
        if message.role == "system":
            continue
        if turns and turns[-1]["role"] == message.role:
            turns[-1]["content"] += "\n\n" + message.content
        else:
            turns.append({"role": message.role, "content": message.content})
    return turns


class _EventParser:
    """Accumulates the text deltas; whole at ``message_stop``."""

    def __init__(self) -> None:
        self.tokens = 0
        self.chars = 0
        self.complete = False
        self._parts: list[str] = []
        self._model = ""
        self._input = 0
        self._output = 0
        self._stop_reason: str | None = None

    def feed(self, event: ServerSentEvent) -> None:
        data = _Event.model_validate_json(event.data)
        if data.type == "error":
            error = data.error or _Error()
            raise StreamErrorEvent(error.type, error.message)
        if data.type == "message_start" and data.message is not None:
            self._model = data.message.model
            self._count(data.message.usage)
        elif data.type == "content_block_start" and data.content_block is not None:
            self._add(data.content_block.text if data.content_block.type == "text" else None)
        elif data.type == "content_block_delta" and data.delta is not None:
            self._add(data.delta.text if data.delta.type == "text_delta" else None)
        elif data.type == "message_delta":
            self._count(data.usage)
            if data.delta is not None and data.delta.stop_reason:
                self._stop_reason = data.delta.stop_reason
        elif data.type == "message_stop":
            self.complete = True
        # ping, content_block_stop and event types added later carry nothing needed here

    def completion(self) -> Completion:
        return Completion(
            "".join(self._parts), self._model, Usage(self._input, self._output),
            truncated=self._stop_reason == "max_tokens",
        )

    def _add(self, text: str | None) -> None:
        if text:
            self._parts.append(text)
            self.tokens += 1
            self.chars += len(text)

    def _count(self, usage: _Usage | None) -> None:
        """Usage counts are cumulative: the latest value wins (for input, the largest: a later
        report may leave out the cached tokens ``message_start`` counted)."""
        if usage is None:
            return
        self._input = max(self._input, usage.prompt or 0)
        self._output = usage.output_tokens if usage.output_tokens is not None else self._output
