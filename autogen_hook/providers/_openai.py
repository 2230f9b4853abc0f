"""Any OpenAI-compatible chat-completions server: OpenAI, Ollama, vLLM, llama.cpp, LM Studio, OpenRouter.

With ``request.stream`` (the default) the answer streams as SSE chunks with
``stream_options.include_usage``; progress counts the content chunks received
(about one token each). A server that ignores ``stream`` and answers with one
JSON completion is read as such.

The answer's limit goes out as ``max_tokens``, which Ollama, vLLM, llama.cpp, LM Studio
and OpenRouter honour; to api.openai.com as ``max_completion_tokens``, OpenAI's current
name, the only one its reasoning and GPT-5 models accept (``max_tokens`` is deprecated
there). A server that answers 400 naming the one sent as unsupported is asked once more
with the other, which it is then sent for that model from then on.

``usage.prompt_tokens`` already counts cached prompt tokens
(``prompt_tokens_details.cached_tokens`` is a part of it, not an addition).
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, Field

from .._errors import MissingCredentialsError, ProviderHTTPError
from ._base import Completion, CompletionRequest, ProgressCallback, Usage
from ._http import PooledClient, Service, is_context_overflow
from ._sse import ServerSentEvent
from ._wire import StreamErrorEvent, chat, decode

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_MODEL = "gpt-4o-mini"
TOKEN_LIMITS = ("max_tokens", "max_completion_tokens")
# how a server says it does not take a parameter: OpenAI ("Unsupported parameter: 'max_tokens'
# is not supported with this model. Use 'max_completion_tokens' instead."), Azure and older
# servers ("Unrecognized request argument supplied"), pydantic-based ones ("Extra inputs are
# not permitted")
_REFUSED = (
    "unsupported", "not supported", "unrecognized", "unknown", "not permitted", "extra", "instead",
)


class _Message(BaseModel):
    content: str | None = None


class _Choice(BaseModel):
    message: _Message
    finish_reason: str | None = None


class _Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0


class _ChatCompletion(BaseModel):
    model: str = ""
    choices: list[_Choice]
    usage: _Usage | None = None


class _Delta(BaseModel):
    content: str | None = None


class _ChunkChoice(BaseModel):
    delta: _Delta = Field(default_factory=_Delta)
    finish_reason: str | None = None


class _Error(BaseModel):
    message: str = ""
    type: str | None = None
    code: int | str | None = None


class _Chunk(BaseModel):
    """A ``chat.completion.chunk``, the final usage chunk, or an error in the stream."""

    model: str = ""
    choices: list[_ChunkChoice] | None = None  # vLLM sends null in the usage chunk
    usage: _Usage | None = None
    error: _Error | None = None


class OpenAIProvider(PooledClient):
    """Chat completions at ``OPENAI_BASE_URL`` with ``OPENAI_API_KEY``."""

    name = "openai"
    environment = ("OPENAI_API_KEY", "OPENAI_BASE_URL")
    probe_path = "/models"

    def __init__(self) -> None:
        self._service = Service.from_env(
            self.name, "OPENAI_BASE_URL", DEFAULT_BASE_URL,
            credential="OPENAI_API_KEY", api="an OpenAI-compatible /v1 endpoint",
        )
        self.base_url = self._service.base_url
        self.api_key = os.environ.get("OPENAI_API_KEY") or None
        official = urlsplit(self.base_url).hostname == "api.openai.com"
        self._token_limit = TOKEN_LIMITS[official]
        self._token_limits: dict[str, str] = {}  # model -> the form its server asked for

    async def complete(
        self, request: CompletionRequest, progress: ProgressCallback | None = None
    ) -> Completion:
        model = request.model or DEFAULT_MODEL
        limit = self._token_limits.get(model, self._token_limit)
        try:
            return await self._chat(request, model, limit, progress)
        except ProviderHTTPError as exc:
            if exc.status != 400 or not _refuses(exc.body, limit):
                raise
        other = TOKEN_LIMITS[limit == TOKEN_LIMITS[0]]
        completion = await self._chat(request, model, other, progress)
        self._token_limits[model] = other
        return completion

    async def _chat(
        self, request: CompletionRequest, model: str, limit: str, progress: ProgressCallback | None
    ) -> Completion:
        body: dict[str, Any] = {
            "model": model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            limit: request.max_tokens,
        }
        if request.stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return await chat(
            self._http(), self._service, f"{self.base_url}/chat/completions",
            body=body, headers=self._headers(), request=request,
            parse=self._parse, parser=_ChunkParser, progress=progress,
        )

    def check(self) -> None:
        """Raise MissingCredentialsError if the key is missing where it is needed (api.openai.com;
        local servers such as Ollama, llama.cpp and vLLM usually need none)."""
        if not self.api_key and self.base_url == DEFAULT_BASE_URL:
            raise MissingCredentialsError(
                "OPENAI_API_KEY is not set. Set it to your OpenAI API key, or set "
                "OPENAI_BASE_URL to an OpenAI-compatible server that needs no key (Ollama: "
                "http://localhost:11434/v1), or choose another provider with AUTOGEN_HOOK_PROVIDER.",
                provider=self.name,
            )

    def _headers(self) -> dict[str, str]:
        self.check()
        return {"authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def _parse(self, response: httpx.Response) -> Completion:
        data = decode(_ChatCompletion, response, self._service, "a chat completion")
        usage = data.usage or _Usage()
        choice = data.choices[0] if data.choices else None
        return Completion(  # an empty reply is left to validation, which asks again
            text=(choice.message.content or "") if choice else "",
            model=data.model,
            usage=Usage(usage.prompt_tokens, usage.completion_tokens),
            truncated=choice is not None and choice.finish_reason == "length",
        )


class _ChunkParser:
    """Accumulates ``choices[0].delta.content``; whole at ``finish_reason`` or ``[DONE]``."""

    def __init__(self) -> None:
        self.tokens = 0
        self.chars = 0
        self.complete = False
        self._parts: list[str] = []
        self._model = ""
        self._usage = _Usage()
        self._truncated = False

    def feed(self, event: ServerSentEvent) -> None:
        if event.data.strip() == "[DONE]":
            self.complete = True
            return
        chunk = _Chunk.model_validate_json(event.data)
        if chunk.error is not None:
            raise _error_event(chunk.error)
        self._model = chunk.model or self._model
        if chunk.usage is not None:
            self._usage = chunk.usage
        for choice in (chunk.choices or [])[:1]:
            if choice.delta.content:
                self._parts.append(choice.delta.content)
                self.tokens += 1
                self.chars += len(choice.delta.content)
            if choice.finish_reason:
                self.complete = True
                self._truncated = choice.finish_reason == "length"

    def completion(self) -> Completion:
        return Completion(
            text="".join(self._parts),
            model=self._model,
            usage=Usage(self._usage.prompt_tokens, self._usage.completion_tokens),
            truncated=self._truncated,
        )


def _refuses(message: str, limit: str) -> bool:
    """Whether a 400's message says the server does not take the token-limit parameter ``limit``
    (a message about the context size may name it too, and is not that)."""
    lowered = message.lower()
    refused = any(word in lowered for word in _REFUSED)
    return limit in lowered and refused and not is_context_overflow(message)


def _error_event(error: _Error) -> StreamErrorEvent:
    """OpenAI names the kind in ``code`` ("rate_limit_exceeded") or ``type``; vLLM puts the status in ``code``."""
    code = error.code
    kind = code if isinstance(code, str) else (error.type or "error")
    status = code if isinstance(code, int) and 400 <= code < 600 else None
    return StreamErrorEvent(kind, error.message, status)
