"""OpenTelemetry spans when ``opentelemetry-api`` is installed; nothing at all when it is not.

Whether the API is there is looked up once per process (a cached ``find_spec``, on the cold
path only): without it every span is ``None``. With it, spans go to whatever tracer provider
the application set up (none: the API's no-op spans). Provider calls follow the
OpenTelemetry GenAI semantic conventions (``chat {model}`` client spans, ``gen_ai.*``
attributes); the pipeline's own spans carry ``autogen_hook.*`` attributes.

Error messages may quote what a candidate printed, so what a span records of an exception
is its type and its message redacted with the prompt's rules, never a traceback.
"""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Iterator, Mapping
from typing import Any

from ._state import cached
from ._version import __version__

AttributeValue = str | bool | int | float | tuple[str, ...]
MESSAGE_CAP = 300  # characters of an exception's message on a span


@cached(maxsize=None)
def tracer() -> Any | None:
    """The package's tracer, or None when the OpenTelemetry API is not installed."""
    try:
        if importlib.util.find_spec("opentelemetry.trace") is None:
            return None
        from opentelemetry import trace
    except ImportError:
        return None
    return trace.get_tracer("autogen_hook", __version__)


@contextlib.contextmanager
def span(name: str, attributes: Mapping[str, AttributeValue], *, client: bool = False) -> Iterator[Any | None]:
    """A span that is current while the block runs (None without the API); an exception
    leaving the block is recorded on it and sets its status to error."""
    active = tracer()
    if active is None:
        yield None
        return
    from opentelemetry.trace import SpanKind

    kind = SpanKind.CLIENT if client else SpanKind.INTERNAL
    with active.start_as_current_span(
        name, kind=kind, attributes=dict(attributes), record_exception=False, set_status_on_exception=False
    ) as current:
        try:
            yield current
        except BaseException as exc:
            fail(current, exc)
            raise


def fail(current: Any | None, exc: BaseException, message: str | None = None) -> None:
    """Record ``exc`` on ``current`` (type, redacted message) and mark the span as failed."""
    if current is None:
        return
    from opentelemetry.trace import Status, StatusCode

    from .context._redact import redact

    text = redact(message if message is not None else str(exc), prose=True)[:MESSAGE_CAP]
    kind = type(exc).__name__
    current.record_exception(exc, attributes={"exception.message": text, "exception.stacktrace": ""})
    current.set_attribute("error.type", kind)
    current.set_status(Status(StatusCode.ERROR, f"{kind}: {text}"))


def set_attributes(current: Any | None, attributes: Mapping[str, AttributeValue | None]) -> None:
    """Set the attributes that have a value (OpenTelemetry takes no None)."""
    if current is not None:
        current.set_attributes({k: v for k, v in attributes.items() if v is not None})
