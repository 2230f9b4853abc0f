"""What a generation returns: the typed result of generate(), agenerate() and imports."""

from __future__ import annotations

from dataclasses import dataclass, field

from .providers._base import Usage


@dataclass(frozen=True)
class GenerationResult:
    """What a generation produced, or found in the store.

    ``timings`` holds seconds spent on context, provider, validation and in total;
    ``usage`` the tokens of every attempt together. For a store hit, provider,
    model, attempts and problems describe the generation that wrote the stored
    source (None and 0 if a person wrote or edited it); usage and the stage
    timings are zero, since nothing was asked.
    """

    module: str
    path: str
    source: str
    names: tuple[str, ...]
    from_store: bool
    provider: str | None = None
    model: str | None = None
    attempts: int = 0
    problems: tuple[str, ...] = ()
    usage: Usage = field(default_factory=Usage)
    timings: dict[str, float] = field(default_factory=dict)
