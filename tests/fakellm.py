"""A local LLM server for tests: real HTTP on 127.0.0.1, real wire formats, scripted replies.

Tests queue what the next requests get (``server.openai.push(...)``) and read
what was sent (``server.requests``). Replies are steps:

* ``Code(src)`` / ``Text(s)``  a normal completion (streamed as SSE if the request asks)
* ``Status(429, headers=...)`` an HTTP error in the provider's error format
* ``Raw(body)``                a malformed body
* ``Drop()``                   close the connection without answering
* ``Cut(chars)``               start streaming, then cut the connection mid-way
* ``Slow(seconds, step)``      wait, then answer with ``step``

A ``responder`` function can answer instead of a queue: it gets the request
and returns a step (used for concurrent and racing scenarios).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Text:
    content: str
    model: str = "fake-model"


def Code(source: str, model: str = "fake-model") -> Text:  # noqa: N802 - reads like a step
    """A reply that wraps ``source`` in a python fence, as models do."""
    return Text(f"Here is the module:\n\n```python\n{source.strip()}\n```\n", model)


@dataclass
class Status:
    status: int
    message: str = "scripted error"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Raw:
    """A body sent as-is, for malformed answers."""

    body: str
    status: int = 200
    content_type: str = "application/json"


@dataclass
class Drop:
    pass


@dataclass
class Cut:
    chars: int = 20


@dataclass
class Slow:
    seconds: float
    step: Any


Step = Any


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default backlog of 5 drops concurrent connects (1 s SYN retry)


class Script:
    """Queued steps for one API; an empty queue answers 400 'nothing scripted'."""

    def __init__(self) -> None:
        self._steps: deque[Step] = deque()
        self.responder: Callable[[Recorded], Step] | None = None
        self._lock = threading.Lock()

    def push(self, *steps: Step) -> None:
        with self._lock:
            self._steps.extend(steps)

    def next(self, request: Recorded) -> Step:
        with self._lock:
            if self._steps:
                return self._steps.popleft()
        if self.responder is not None:
            return self.responder(request)
        return Status(400, "fake server: no reply scripted for this request")


class FakeLLM:
    """Start with ``with FakeLLM() as server:`` or start()/stop()."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.openai = Script()
        self.in_flight = 0
        self.max_in_flight = 0  # the most requests answered at the same time
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def openai_url(self) -> str:
        return f"{self.url}/v1"

    def env(self) -> dict[str, str]:
        """Environment variables pointing every provider at this server."""
        return {"OPENAI_BASE_URL": self.openai_url, "OPENAI_API_KEY": "sk-test-fake"}

    def start(self) -> FakeLLM:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeLLM:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def record(self, request: Recorded) -> None:
        with self._lock:
            self.requests.append(request)

    def entered(self, delta: int) -> None:
        with self._lock:
            self.in_flight += delta
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def chat_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]


def prompt_of(request: Recorded) -> str:
    """All message text of a chat request, for assertions."""
    return "\n".join(str(m.get("content", "")) for m in request.body.get("messages", []))


def _handler_for(server: FakeLLM) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # headers and body go out as separate writes: without this, Nagle's algorithm
            # holds the body until the client's delayed ACK, ~40 ms per response
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode(errors="replace")
            request = Recorded(
                "POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body
            )
            server.record(request)
            server.entered(+1)
            try:
                if self.path.rstrip("/").endswith("/chat/completions"):
                    self._answer(server.openai.next(request), request)
                else:
                    self._json(404, {"error": {"message": f"no route {self.path}"}})
            finally:
                server.entered(-1)

        def _answer(self, step: Step, request: Recorded) -> None:
            while isinstance(step, Slow):
                time.sleep(step.seconds)
                step = step.step
            if isinstance(step, Drop):
                self._drop()
            elif isinstance(step, Status):
                self._json(
                    step.status,
                    {"error": {"message": step.message, "type": "scripted", "code": step.status}},
                    step.headers,
                )
            elif isinstance(step, Raw):
                self._send(step.status, step.body.encode(), step.content_type)
            elif isinstance(step, Cut):
                self._openai_stream("x" * 500, "fake-model", cut_after=step.chars)
            elif isinstance(step, Text):
                if isinstance(request.body, dict) and request.body.get("stream"):
                    self._openai_stream(step.content, step.model)
                else:
                    self._json(200, _chat_completion(step.content, step.model))
            else:
                raise TypeError(f"unknown step {step!r}")

        def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
            self._send(status, json.dumps(payload).encode(), "application/json", headers)

        def _send(
            self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None
        ) -> None:
            self.send_response(status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _drop(self) -> None:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

        def _openai_stream(self, content: str, model: str, cut_after: int | None = None) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            pieces = [content[i : i + 16] for i in range(0, len(content), 16)]
            sent = 0
            for index, piece in enumerate(pieces):
                if cut_after is not None and sent >= cut_after:
                    self._drop()
                    return
                delta = {"content": piece} if index else {"role": "assistant", "content": piece}
                self._chunk(_sse(_stream_chunk(model, delta, None)))
                sent += len(piece)
            self._chunk(_sse(_stream_chunk(model, {}, "stop")))
            usage_chunk = {
                "id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()),
                "model": model, "choices": [],
                "usage": {"prompt_tokens": 100, "completion_tokens": len(pieces), "total_tokens": 100 + len(pieces)},
            }
            self._chunk(_sse(usage_chunk))
            self._chunk(b"data: [DONE]\n\n")
            self._chunk(b"")

        def _chunk(self, data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

    return Handler


def _chat_completion(content: str, model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150},
    }


def _stream_chunk(model: str, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _sse(payload: dict[str, Any], event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(payload)}\n\n".encode()
