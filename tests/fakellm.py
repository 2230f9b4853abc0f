"""A local LLM server for tests: real HTTP on 127.0.0.1, real wire formats, scripted replies.

It speaks three APIs: OpenAI chat completions (``/v1/chat/completions``),
Anthropic Messages (``/v1/messages``) and Codegen agent runs
(``/v1/organizations/{org}/agent/run[/{id}]``). Tests queue what the next
requests get (``server.openai.push(...)``, ``server.anthropic.push(...)``,
``server.codegen.push(...)``) and read what was sent (``server.requests``).
Replies are steps:

* ``Code(src)`` / ``Text(s)``  a normal completion (streamed as SSE if the request asks);
                               ``Text(s, truncated=True)`` ends at the token limit
                               (``finish_reason: length``, ``stop_reason: max_tokens``)
* ``Status(429, headers=...)`` an HTTP error in the API's own error format
* ``Raw(body)``                a malformed body
* ``Drop()``                   close the connection without answering
* ``Cut(chars)``               start the answer, then cut the connection mid-way
* ``ErrorEvent(kind, msg)``    stream a little, then an error event inside the stream
* ``Slow(seconds, step)``      wait, then answer with ``step``
* ``Silent()``                 accept the request and never answer
* ``KeepAlive(every, prefix)`` start a stream, then only SSE comments, forever
* ``Trickle(every)``           a stream of content that never ends
* ``SlowBody(step, every)``    a whole (non-streamed) answer, one byte every ``every`` s
* ``Huge(chars, piece)``       an answer of ``chars`` characters, made as it is sent
                               (streamed in ``piece``-character events, or a chunked body)
* ``Run(statuses, result)``    (Codegen only) an agent run: the create answers the first
                               status, each poll the next one (the last repeats); a
                               ``Status`` among them answers that poll with the error

``server.listings`` answers the GETs of ``/v1/models`` and ``/v1/organizations`` (the cheap
request ``autogen-hook doctor --online`` sends): an empty list unless steps are pushed.

A ``responder`` function can answer instead of a queue: it gets the request
and returns a step (used for concurrent and racing scenarios). The endless steps
end when the client goes away (or after ``ENDLESS`` seconds).
"""

from __future__ import annotations

import itertools
import json
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


ENDLESS = 30.0  # seconds an endless step goes on for a client that never leaves


@dataclass
class Text:
    content: str
    model: str = "fake-model"
    truncated: bool = False


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
    """A stream (or a JSON body) that breaks after ``chars`` characters of its answer."""

    chars: int = 20
    content: str = "x" * 500


@dataclass
class ErrorEvent:
    """A stream that sends ``after`` characters of answer, then an error event, then ends."""

    kind: str = "overloaded_error"
    message: str = "Overloaded"
    after: int = 20


@dataclass
class Slow:
    seconds: float
    step: Any


@dataclass
class Silent:
    """Read the request, then answer nothing until the client gives up."""


@dataclass
class KeepAlive:
    """Open an event stream, then send only ``: keep-alive`` comments, every ``every`` s.

    ``prefix``: raw event-stream text to send first instead of the API's opening events.
    """

    every: float = 0.05
    prefix: str | None = None


@dataclass
class Trickle:
    """Open an event stream and send a little content every ``every`` s, never the end."""

    every: float = 0.05
    piece: str = "x = 1\n"


@dataclass
class SlowBody:
    """Answer ``step`` (a Text) as a whole JSON body, one byte every ``every`` s."""

    step: Any = None
    every: float = 2.0


@dataclass
class Huge:
    """An answer of ``chars`` characters, generated while it is sent: an SSE stream of
    ``piece``-character deltas, or a chunked JSON body without a content-length."""

    chars: int = 60_000_000
    piece: int = 16


@dataclass
class Run:
    """A scripted Codegen agent run; ``id`` and ``web_url`` are set when it is created."""

    statuses: list[str | None | Status] = field(default_factory=lambda: ["ACTIVE", "COMPLETE"])
    result: str | None = None
    id: int = 0
    web_url: str = ""
    polls: int = 0

    def advance(self) -> str | None | Status:
        """What the next poll gets."""
        self.polls += 1
        return self.statuses[min(self.polls, len(self.statuses) - 1)]

    def status(self) -> str | None:
        """The status last reported (an error answer does not change it)."""
        reported = [s for s in self.statuses[: self.polls + 1] if not isinstance(s, Status)]
        return reported[-1]

    def finished(self) -> bool:
        return self.polls + 1 >= len(self.statuses)


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


class AgentRuns(Script):
    """Codegen: queued steps answer run creations; created runs answer their polls."""

    def __init__(self) -> None:
        super().__init__()
        self.runs: dict[int, Run] = {}
        self._ids = itertools.count(1001)

    def start(self, run: Run, base_url: str) -> Run:
        with self._lock:
            run.id = next(self._ids)
            run.web_url = f"{base_url}/agent/trace/{run.id}"
            self.runs[run.id] = run
        return run


class FakeLLM:
    """Start with ``with FakeLLM() as server:`` or start()/stop()."""

    org_id = 42

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.openai = Script()
        self.in_flight = 0
        self.max_in_flight = 0  # the most requests answered at the same time
        self.anthropic = Script()
        self.codegen = AgentRuns()
        self.listings = Script()  # GET of the models or organizations: an empty list unless scripted
        self.listings.responder = lambda request: Raw('{"data": [], "items": []}')
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
        return {
            "OPENAI_BASE_URL": self.openai_url,
            "OPENAI_API_KEY": "sk-test-fake",
            "ANTHROPIC_BASE_URL": self.url,
            "ANTHROPIC_API_KEY": "sk-ant-test-fake",
            "CODEGEN_API_BASE_URL": self.url,
            "CODEGEN_API_TOKEN": "cg-test-fake",
            "CODEGEN_ORG_ID": str(self.org_id),
        }

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

    def anthropic_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith("/v1/messages")]

    def codegen_creates(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST" and _CREATE.fullmatch(r.path)]

    def codegen_polls(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "GET" and _POLL.fullmatch(r.path)]


def prompt_of(request: Recorded) -> str:
    """All prompt text of a request (chat messages, Anthropic's system, Codegen's prompt)."""
    if "prompt" in request.body:
        return str(request.body["prompt"])
    parts = [request.body["system"]] if request.body.get("system") else []
    parts += [str(m.get("content", "")) for m in request.body.get("messages", [])]
    return "\n".join(parts)


def obliging(request: Recorded) -> Text:
    """A model that does what it is asked: a module defining every requested name (as
    ``def name(x: int) -> int``) and keeping every function of the module it is asked to extend
    or regenerate. A responder for scenarios with many modules and requests."""
    prompt = prompt_of(request)
    asked = re.search(r"Requested names: ([\w, ]+)", prompt)
    names = [n.strip() for n in asked.group(1).split(",")] if asked else []
    stored = prompt.rpartition("```python\n")[2] if "```python\n" in prompt else ""
    kept = re.findall(r"^def (\w+)\(", stored, re.M)
    return Code("\n\n".join(
        f'def {name}(x: int) -> int:\n    """Twice x."""\n    return 2 * x\n' for name in dict.fromkeys(kept + names)
    ))


_LISTINGS = ("/v1/models", "/v1/organizations")  # OpenAI's and Anthropic's models, Codegen's organizations
_CREATE = re.compile(r"/v1/organizations/(\d+)/agent/run")
_POLL = re.compile(r"/v1/organizations/(\d+)/agent/run/(\d+)")


class _OpenAI:
    """OpenAI chat-completions wire format."""

    @staticmethod
    def error(status: int, message: str) -> dict[str, Any]:
        return {"error": {"message": message, "type": "scripted", "code": status}}

    @staticmethod
    def completion(content: str, model: str, truncated: bool = False) -> dict[str, Any]:
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "length" if truncated else "stop",
                }
            ],
            "usage": {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150},
        }

    @staticmethod
    def head(model: str) -> list[bytes]:
        return [_sse(_chunk(model, {"role": "assistant", "content": ""}, None))]

    @staticmethod
    def delta(model: str, piece: str) -> bytes:
        return _sse(_chunk(model, {"content": piece}, None))

    @staticmethod
    def tail(model: str, pieces: int, truncated: bool = False) -> list[bytes]:
        usage = {
            "id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()),
            "model": model, "choices": [],
            "usage": {"prompt_tokens": 100, "completion_tokens": pieces, "total_tokens": 100 + pieces},
        }
        finish = "length" if truncated else "stop"
        return [_sse(_chunk(model, {}, finish)), _sse(usage), b"data: [DONE]\n\n"]

    @staticmethod
    def error_event(kind: str, message: str) -> bytes:
        return _sse({"error": {"message": message, "type": kind, "code": None}})


class _Anthropic:
    """Anthropic Messages wire format, with its named stream events."""

    _TYPES = {
        400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
        404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
        500: "api_error", 529: "overloaded_error",
    }

    @classmethod
    def error(cls, status: int, message: str) -> dict[str, Any]:
        kind = cls._TYPES.get(status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": message}}

    @staticmethod
    def completion(content: str, model: str, truncated: bool = False) -> dict[str, Any]:
        return {
            "id": "msg_fake", "type": "message", "role": "assistant", "model": model,
            "content": [{"type": "text", "text": content}],
            "stop_reason": "max_tokens" if truncated else "end_turn", "stop_sequence": None,
            "usage": {
                "input_tokens": 100, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                "output_tokens": 50,
            },
        }

    @staticmethod
    def head(model: str) -> list[bytes]:
        message: dict[str, Any] = {
            "id": "msg_fake", "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": None, "stop_sequence": None,
            "usage": {
                "input_tokens": 100, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                "output_tokens": 1,
            },
        }
        return [
            _sse({"type": "message_start", "message": message}, "message_start"),
            _sse(
                {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
                "content_block_start",
            ),
            _sse({"type": "ping"}, "ping"),
        ]

    @staticmethod
    def delta(model: str, piece: str) -> bytes:
        data = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}}
        return _sse(data, "content_block_delta")

    @staticmethod
    def tail(model: str, pieces: int, truncated: bool = False) -> list[bytes]:
        stop = "max_tokens" if truncated else "end_turn"
        return [
            _sse({"type": "content_block_stop", "index": 0}, "content_block_stop"),
            _sse(
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": stop, "stop_sequence": None},
                    "usage": {"output_tokens": pieces},
                },
                "message_delta",
            ),
            _sse({"type": "message_stop"}, "message_stop"),
        ]

    @staticmethod
    def error_event(kind: str, message: str) -> bytes:
        return _sse({"type": "error", "error": {"type": kind, "message": message}}, "error")


class _Codegen:
    """Codegen API error format (agent runs are answered by the handler)."""

    @staticmethod
    def error(status: int, message: str) -> dict[str, Any]:
        return {"message": message, "status_code": status}


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
            request = self._record("POST", body)
            path = self.path.rstrip("/")
            server.entered(+1)
            try:
                if path.endswith("/chat/completions"):
                    self._answer(server.openai.next(request), request, _OpenAI)
                elif path.endswith("/v1/messages"):
                    self._answer(server.anthropic.next(request), request, _Anthropic)
                elif match := _CREATE.fullmatch(path):
                    self._create_run(server.codegen.next(request), request, int(match.group(1)))
                else:
                    self._json(404, {"error": {"message": f"no route {self.path}"}})
            finally:
                server.entered(-1)

        def do_GET(self) -> None:
            request = self._record("GET", None)
            if self.path.rstrip("/") in _LISTINGS:  # what `doctor --online` asks each provider
                self._answer(server.listings.next(request), request, _OpenAI)
                return
            match = _POLL.fullmatch(self.path.rstrip("/"))
            run = server.codegen.runs.get(int(match.group(2))) if match else None
            if match is None or run is None:
                self._json(404, _Codegen.error(404, "Agent run not found."))
                return
            answer = run.advance()
            if isinstance(answer, Status):
                self._answer(answer, request, _Codegen)
            else:
                self._json(200, _run_json(run, int(match.group(1))))

        def _record(self, method: str, body: Any) -> Recorded:
            headers = {k.lower(): v for k, v in self.headers.items()}
            request = Recorded(method, self.path, headers, body)
            server.record(request)
            return request

        def _create_run(self, step: Step, request: Recorded, org_id: int) -> None:
            if isinstance(step, Run):
                self._json(200, _run_json(server.codegen.start(step, server.url), org_id))
            else:
                self._answer(step, request, _Codegen)

        def _answer(self, step: Step, request: Recorded, api: Any) -> None:
            try:
                self._reply(step, request, api)
            except OSError:  # the client went away (cut an endless or oversized answer)
                self.close_connection = True

        def _reply(self, step: Step, request: Recorded, api: Any) -> None:
            while isinstance(step, Slow):
                time.sleep(step.seconds)
                step = step.step
            streams = isinstance(request.body, dict) and bool(request.body.get("stream"))
            if isinstance(step, Drop):
                self._drop()
            elif isinstance(step, Status):
                self._json(step.status, api.error(step.status, step.message), step.headers)
            elif isinstance(step, Raw):
                self._send(step.status, step.body.encode(), step.content_type)
            elif isinstance(step, Cut) and streams:
                self._stream(api, _pieces(step.content), "fake-model", stop_after=step.chars)
            elif isinstance(step, Cut):
                self._cut_body(json.dumps(api.completion(step.content, "fake-model")).encode(), step.chars)
            elif isinstance(step, ErrorEvent):
                self._stream(api, _pieces("x" * 500), "fake-model", stop_after=step.after, error=step)
            elif isinstance(step, Text) and streams:
                self._stream(api, _pieces(step.content), step.model, truncated=step.truncated)
            elif isinstance(step, Text):
                self._json(200, api.completion(step.content, step.model, step.truncated))
            elif isinstance(step, Silent):
                self._hold(ENDLESS)
            elif isinstance(step, KeepAlive):
                if step.prefix is None:
                    self._open_stream(api, "fake-model")
                else:
                    self._head(200, "text/event-stream", {"transfer-encoding": "chunked"})
                    self._chunk(step.prefix.encode())
                for _ in _for(ENDLESS, step.every):
                    self._chunk(b": keep-alive\n\n")
            elif isinstance(step, Trickle):
                self._open_stream(api, "fake-model")
                for _ in _for(ENDLESS, step.every):
                    self._chunk(api.delta("fake-model", step.piece))
            elif isinstance(step, SlowBody):
                data = json.dumps(api.completion(step.step.content, step.step.model)).encode()
                self._head(200, "application/json", {"content-length": str(len(data))})
                for index, _ in zip(range(len(data)), _for(ENDLESS, step.every)):
                    self.wfile.write(data[index : index + 1])
                    self.wfile.flush()
            elif isinstance(step, Huge) and streams:
                pieces = (("x" * step.piece)[: step.chars - i] for i in range(0, step.chars, step.piece))
                self._stream(api, pieces, "fake-model")
            elif isinstance(step, Huge):
                self._huge_body(api, step.chars)
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

        def _cut_body(self, data: bytes, keep: int) -> None:
            """Promise the whole body, send its start, then break the connection."""
            self._head(200, "application/json", {"content-length": str(len(data))})
            self.wfile.write(data[:keep])
            self.wfile.flush()
            self._drop()

        def _drop(self) -> None:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

        def _stream(
            self,
            api: Any,
            pieces: Iterable[str],
            model: str,
            stop_after: int | None = None,
            error: ErrorEvent | None = None,
            truncated: bool = False,
        ) -> None:
            """SSE in ``api``'s format; after ``stop_after`` characters, cut (or send ``error``)."""
            self._open_stream(api, model)
            count = sent = 0
            for piece in pieces:
                if stop_after is not None and sent >= stop_after:
                    if error is None:
                        self._drop()
                        return
                    self._chunk(api.error_event(error.kind, error.message))
                    self._chunk(b"")
                    return
                self._chunk(api.delta(model, piece))
                sent += len(piece)
                count += 1
            for frame in api.tail(model, count, truncated):
                self._chunk(frame)
            self._chunk(b"")

        def _open_stream(self, api: Any, model: str) -> None:
            self._head(200, "text/event-stream", {"transfer-encoding": "chunked"})
            for frame in api.head(model):
                self._chunk(frame)

        def _huge_body(self, api: Any, chars: int) -> None:
            """A whole completion of ``chars`` characters in a chunked body, made as it is sent."""
            marker = "\u0000HUGE\u0000"
            before, _, after = json.dumps(api.completion(marker, "fake-model")).partition(json.dumps(marker)[1:-1])
            self._head(200, "application/json", {"transfer-encoding": "chunked"})
            self._chunk(before.encode())
            block = "x" * 65536
            for start in range(0, chars, len(block)):
                piece = block[: chars - start]
                self._chunk(piece.encode())
            self._chunk(after.encode())
            self._chunk(b"")

        def _head(self, status: int, content_type: str, headers: dict[str, str]) -> None:
            self.send_response(status)
            self.send_header("content-type", content_type)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()

        def _hold(self, seconds: float) -> None:
            """Answer nothing until the client closes its end (or ``seconds`` pass)."""
            self.connection.settimeout(0.05)
            for _ in _for(seconds, 0.0):
                try:
                    if not self.connection.recv(1, socket.MSG_PEEK):
                        return
                except socket.timeout:
                    continue
            self.close_connection = True

        def _chunk(self, data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

    return Handler


def _run_json(run: Run, org_id: int) -> dict[str, Any]:
    """Codegen's AgentRunResponse; the result appears once the run reports its last status."""
    return {
        "id": run.id,
        "organization_id": org_id,
        "status": run.status(),
        "created_at": "2025-01-01T00:00:00Z",
        "web_url": run.web_url,
        "result": run.result if run.finished() else None,
        "summary": None,
        "source_type": "API",
        "github_pull_requests": [],
        "metadata": None,
    }


def _chunk(model: str, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
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


def _pieces(content: str) -> list[str]:
    """``content`` as the server streams it: 16 characters an event."""
    return [content[i : i + 16] for i in range(0, len(content), 16)]


def _for(seconds: float, every: float) -> Iterator[None]:
    """Yield every ``every`` seconds (after the first at once) until ``seconds`` have passed."""
    ends = time.monotonic() + seconds
    while time.monotonic() < ends:
        yield
        time.sleep(every)
