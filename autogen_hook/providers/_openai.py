"""Any OpenAI-compatible chat-completions server: OpenAI, Ollama, vLLM, llama.cpp, LM Studio, OpenRouter."""

from __future__ import annotations

import os

import httpx
from pydantic import BaseModel, ValidationError

from .._errors import MissingCredentialsError, ProviderResponseError
from ._base import Completion, CompletionRequest, ProgressCallback, Usage
from ._http import check_status, new_client, request_timeout, unavailable

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_MODEL = "gpt-4o-mini"


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


class OpenAIProvider:
    """Chat completions at ``OPENAI_BASE_URL`` with ``OPENAI_API_KEY``."""

    name = "openai"
    environment = ("OPENAI_API_KEY", "OPENAI_BASE_URL")

    def __init__(self) -> None:
        self.base_url = (os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self.api_key = os.environ.get("OPENAI_API_KEY") or None
        self._client: httpx.AsyncClient | None = None

    async def complete(
        self, request: CompletionRequest, progress: ProgressCallback | None = None
    ) -> Completion:
        url = f"{self.base_url}/chat/completions"
        body = {
            "model": request.model or DEFAULT_MODEL,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
        }
        try:
            response = await self._http().post(
                url, json=body, headers=self._headers(), timeout=request_timeout(request.timeout)
            )
        except httpx.HTTPError as exc:
            raise unavailable(exc, self.name, url, self._hint()) from None
        check_status(response, self.name, "OPENAI_API_KEY")
        return self._parse(response)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = new_client()
        return self._client

    def _headers(self) -> dict[str, str]:
        if self.api_key:
            return {"authorization": f"Bearer {self.api_key}"}
        if self.base_url == DEFAULT_BASE_URL:
            raise MissingCredentialsError(
                "OPENAI_API_KEY is not set. Set it to your OpenAI API key, or set "
                "OPENAI_BASE_URL to an OpenAI-compatible server that needs no key (Ollama: "
                "http://localhost:11434/v1), or choose another provider with AUTOGEN_HOOK_PROVIDER.",
                provider=self.name,
            )
        return {}  # local servers (Ollama, llama.cpp, vLLM) usually need no key

    def _hint(self) -> str:
        return f"Is the server running? Check OPENAI_BASE_URL (now {self.base_url})."

    def _parse(self, response: httpx.Response) -> Completion:
        try:
            data = _ChatCompletion.model_validate_json(response.content)
        except ValidationError as exc:
            raise ProviderResponseError(
                f"{self.name} at {self.base_url} answered with something that is not a chat "
                f"completion ({exc.error_count()} problems, body starts {response.text[:200]!r}). "
                "Check that OPENAI_BASE_URL points at an OpenAI-compatible /v1 endpoint.",
                provider=self.name,
            ) from None
        usage = data.usage or _Usage()
        return Completion(  # an empty reply is left to validation, which asks again
            text=(data.choices[0].message.content or "") if data.choices else "",
            model=data.model,
            usage=Usage(usage.prompt_tokens, usage.completion_tokens),
        )
