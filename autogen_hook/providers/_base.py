"""The provider protocol: a completion request in, a completion out.

A provider only talks to its service and maps failures onto the ProviderError
family (marking the transient ones). Retries, rate limits, circuit breaking
and fallback happen around it, identically for every provider.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable


@dataclass(frozen=True)
class Message:
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class CompletionRequest:
    """What to ask; ``model`` None means the provider's default.

    ``timeout`` bounds one HTTP exchange as a whole (connect, first byte, the entire
    answer or stream); ``overall_timeout`` bounds the whole completion for providers
    that poll a long-running job (agents), rate-limit waits included. ``max_tokens``
    limits the answer, and so also how many characters of it are read.
    """

    messages: tuple[Message, ...]
    module: str
    model: str | None = None
    names: tuple[str, ...] = ()  # the names this generation asks for
    max_tokens: int = 4096
    timeout: float = 120.0
    overall_timeout: float = 900.0
    stream: bool = True


@dataclass(frozen=True)
class Usage:
    """Tokens of one exchange; ``input_tokens`` counts cached prompt tokens too."""

    input_tokens: int = 0
    output_tokens: int = 0


@dataclass(frozen=True)
class Completion:
    """The model's answer; ``url`` points at a web page for it where one exists.

    ``truncated``: the model stopped at the token limit (OpenAI ``finish_reason: length``,
    Anthropic ``stop_reason: max_tokens``), so the text is the start of an answer.
    """

    text: str
    model: str
    usage: Usage = field(default_factory=Usage)
    url: str | None = None
    truncated: bool = False


@dataclass(frozen=True)
class Progress:
    """A live update while a completion is produced (for the status line).

    ``tokens`` estimates the output so far: streaming providers count the text
    chunks received (OpenAI sends about one token a chunk, Anthropic a few).
    Agent providers report ``status`` and the run's web page in ``url`` instead.
    """

    tokens: int = 0
    status: str | None = None
    url: str | None = None


ProgressCallback = Callable[[Progress], None]


@runtime_checkable
class Provider(Protocol):
    """What a provider implements; register third-party ones under the
    ``autogen_hook.providers`` entry-point group (name -> zero-argument factory).

    A provider may also define ``check() -> None``, raising MissingCredentialsError
    (or SettingsError) when a request could not even be sent: it is called before
    anything is written for a generation, so a misconfigured run leaves no trace.
    """

    name: str

    async def complete(
        self, request: CompletionRequest, progress: ProgressCallback | None = None
    ) -> Completion:
        """Ask the model; raise a ProviderError (``transient=True`` to be retried)."""
        ...

    async def aclose(self) -> None:
        """Release connections; called once at interpreter exit."""
        ...
