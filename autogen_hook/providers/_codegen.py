"""Codegen's agent API: one agent run per completion, created with a prompt and polled until it ends.

The chat messages become one prompt that asks for exactly one fenced
```` ```python ```` module in the final answer; the run's ``result`` (prose around
the code) is returned as the completion text, and its ``web_url`` as the URL.

Run statuses are read case-insensitively (``-`` and spaces as ``_``):

* done: COMPLETE, COMPLETED, SUCCEEDED, SUCCESS, DONE, FINISHED. An empty result
  is returned as empty text; validation then asks again.
* failed: FAILED, FAILURE, ERROR, ERRORED, CANCELLED, CANCELED, STOPPED, ABORTED,
  REJECTED, TIMEOUT, TIMED_OUT, MAX_ITERATIONS_REACHED, OUT_OF_TOKENS. Raises a
  ProviderResponseError naming the run's page and its text; not transient, since a
  new run of the same prompt would cost another run and likely fail alike.
* running: ACTIVE, RUNNING, PENDING, QUEUED, CREATED, STARTING, IN_PROGRESS,
  EVALUATION, PAUSED, or no status yet. Any other value is logged once as a
  warning and waited on too.

Waiting ends at ``request.overall_timeout`` with a ProviderUnavailableError that
is not transient: the run may still finish on its page, and a retry would start
a second run of the same prompt. That deadline is hard: it also bounds the waits
for the rate-limit windows below and every request (``request.timeout`` each, at
most what remains).

Polling starts ``_POLL_START`` seconds after the create and waits ``_POLL_GROWTH``
times longer each time, up to ``_POLL_CEILING``. A poll answered 429 waits its
Retry-After (else the current interval) and polls again; other transient poll
failures (5xx, connection) are tolerated up to ``_POLL_FAILURES`` in a row. A
429 on the create is a transient error: the retry layer creates the run later.
Codegen documents 10 creates per minute and 60 other requests per 30 seconds;
process-wide sliding windows keep every run of this process under both. Every wait
reads the provider layer's clock (``_ratelimit.clock``), which tests inject.
"""

from __future__ import annotations

import logging
import os

import httpx
from pydantic import BaseModel

from .._errors import (
    MissingCredentialsError,
    ProviderError,
    ProviderHTTPError,
    ProviderResponseError,
    ProviderUnavailableError,
)
from ._base import Completion, CompletionRequest, Message, Progress, ProgressCallback
from ._http import PooledClient, shorten
from ._http import Service
from ._ratelimit import SlidingWindow, clock, window
from ._wire import decode, send

DEFAULT_BASE_URL = "https://api.codegen.com"
DEFAULT_MODEL = "codegen-agent"  # recorded when no model is set: the organization's default runs
CREDENTIALS_PAGE = "https://codegen.com/token"

_POLL_START = 1.0
_POLL_GROWTH = 1.5
_POLL_CEILING = 15.0
_POLL_FAILURES = 5
CREATES = (10, 60.0)  # Codegen's documented limits: agent runs created per minute,
POLLS = (60, 30.0)  # and other requests per 30 seconds

_DONE = frozenset({"COMPLETE", "COMPLETED", "SUCCEEDED", "SUCCESS", "DONE", "FINISHED"})
_FAILED = frozenset(
    {
        "FAILED", "FAILURE", "ERROR", "ERRORED", "CANCELLED", "CANCELED", "STOPPED", "ABORTED",
        "REJECTED", "TIMEOUT", "TIMED_OUT", "MAX_ITERATIONS_REACHED", "OUT_OF_TOKENS",
    }
)
_ENDED = _DONE | _FAILED
_RUNNING = frozenset(
    {
        "ACTIVE", "RUNNING", "PENDING", "QUEUED", "CREATED", "STARTING", "IN_PROGRESS",
        "EVALUATION", "PAUSED",
    }
)

_ANSWER_FORMAT = """\
## How to answer
This task needs only your answer text: do not create a branch, pull request, file or \
commit in any repository. Your final answer must contain exactly one fenced ```python \
code block holding the complete module, and no other code block."""

_log = logging.getLogger("autogen_hook")


class _AgentRun(BaseModel):
    """The fields of Codegen's AgentRunResponse that are used."""

    id: int
    status: str | None = None
    web_url: str | None = None
    result: str | None = None
    summary: str | None = None

    @property
    def state(self) -> str:
        return (self.status or "").strip().upper().replace("-", "_").replace(" ", "_")

    @property
    def page(self) -> str:
        return self.web_url or f"agent run {self.id} (no web URL was given)"


class CodegenProvider(PooledClient):
    """Agent runs at ``CODEGEN_API_BASE_URL`` for ``CODEGEN_ORG_ID`` with ``CODEGEN_API_TOKEN``."""

    name = "codegen"
    environment = ("CODEGEN_API_TOKEN", "CODEGEN_ORG_ID", "CODEGEN_API_BASE_URL")
    probe_path = "/v1/organizations"

    def __init__(self) -> None:
        self._service = Service.from_env(
            self.name, "CODEGEN_API_BASE_URL", DEFAULT_BASE_URL,
            credential="CODEGEN_API_TOKEN and that CODEGEN_ORG_ID is an organization of yours",
            api=f"the Codegen API ({DEFAULT_BASE_URL})",
        )
        self.base_url = self._service.base_url
        self.token = os.environ.get("CODEGEN_API_TOKEN") or None
        self.org_id = os.environ.get("CODEGEN_ORG_ID", "").strip()

    async def complete(
        self, request: CompletionRequest, progress: ProgressCallback | None = None
    ) -> Completion:
        headers = self._headers()
        runs = f"{self.base_url}/v1/organizations/{self._org_id()}/agent/run"
        pace = _Pace(clock().now() + request.overall_timeout, request.overall_timeout)
        watch = _Watch(request.module, progress)
        run = watch.report(await self._create(runs, headers, request, pace))
        while run.state not in _ENDED:
            await pace.sleep(run)
            if not await polls().wait(within=pace.remaining()):
                raise _timed_out(run, request.overall_timeout)
            try:
                response = await send(
                    self._http(), self._service, "GET", f"{runs}/{run.id}", headers=headers,
                    timeout=min(request.timeout, pace.remaining()), max_tokens=request.max_tokens,
                )
            except ProviderError as exc:
                pace.failed(exc, run)
                continue
            pace.answered()
            run = watch.report(self._run(response))
        if run.state in _FAILED:
            raise _failed(run)
        return Completion(text=run.result or "", model=request.model or DEFAULT_MODEL, url=run.web_url)

    async def _create(
        self, url: str, headers: dict[str, str], request: CompletionRequest, pace: _Pace
    ) -> _AgentRun:
        body: dict[str, object] = {
            "prompt": build_prompt(request.messages),
            "metadata": {"client": "autogen-hook", "module": request.module},
        }
        if request.model:
            body["model"] = request.model
        if not await creates().wait(within=pace.remaining()):
            raise ProviderUnavailableError(
                f"codegen could not start an agent run within {request.overall_timeout:g} s: "
                f"this process has used Codegen's limit of {CREATES[0]} runs in "
                f"{CREATES[1]:g} s. Start fewer runs at once, or wait longer with the "
                "agent-timeout setting (AUTOGEN_HOOK_AGENT_TIMEOUT).",
                provider=self.name,
            )
        response = await send(
            self._http(), self._service, "POST", url, headers=headers, body=body,
            timeout=min(request.timeout, pace.remaining()), max_tokens=request.max_tokens,
        )
        return self._run(response)

    def check(self) -> None:
        """Raise MissingCredentialsError unless the token and the organization are set."""
        self._token()
        self._org_id()

    def _headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self._token()}"}

    def _token(self) -> str:
        if not self.token:
            raise MissingCredentialsError(
                f"CODEGEN_API_TOKEN is not set. Set it to your Codegen API token ({CREDENTIALS_PAGE}), "
                "or choose another provider with AUTOGEN_HOOK_PROVIDER.",
                provider=self.name,
            )
        return self.token

    def _org_id(self) -> int:
        if self.org_id.isdecimal():
            return int(self.org_id)
        problem = f"is {self.org_id!r}" if self.org_id else "is not set"
        raise MissingCredentialsError(
            f"CODEGEN_ORG_ID {problem}: set it to the number of your Codegen organization, "
            f"shown with your API token at {CREDENTIALS_PAGE}.",
            provider=self.name,
        )

    def _run(self, response: httpx.Response) -> _AgentRun:
        return decode(_AgentRun, response, self._service, "an agent run (AgentRunResponse)")


def creates() -> SlidingWindow:
    """The process's window of agent runs created."""
    return window(("codegen", "creates"), *CREATES)


def polls() -> SlidingWindow:
    """The process's window of Codegen's other requests (polls)."""
    return window(("codegen", "polls"), *POLLS)


def build_prompt(messages: tuple[Message, ...]) -> str:
    """One prompt from the chat: instructions, the task, then each rejected answer and its feedback."""
    parts: list[str] = []
    seen_user = False
    for message in messages:
        if message.role == "system":
            parts.append(message.content)
        elif message.role == "assistant":
            parts.append(f"## Your previous answer\n{message.content}")
        else:
            parts.append(f"## {'Feedback on that answer' if seen_user else 'Task'}\n{message.content}")
            seen_user = True
    parts.append(_ANSWER_FORMAT)
    return "\n\n".join(parts)


class _Watch:
    """Reports a run while it is awaited: progress on every answer, its page logged once."""

    def __init__(self, module: str, progress: ProgressCallback | None) -> None:
        self.module = module
        self.progress = progress
        self._logged = False
        self._unknown: set[str] = set()

    def report(self, run: _AgentRun) -> _AgentRun:
        if self.progress is not None:
            self.progress(Progress(status=f"agent run {run.id}: {run.status or 'pending'}", url=run.web_url))
        if run.web_url and not self._logged:
            _log.info("codegen agent run %s is writing %s: %s", run.id, self.module, run.web_url)
            self._logged = True
        state = run.state
        if state and state not in _ENDED | _RUNNING and state not in self._unknown:
            self._unknown.add(state)
            _log.warning(
                "codegen agent run %s reports status %r, which autogen-hook does not know; "
                "waiting for it to end (%s)", run.id, run.status, run.page,
            )
        return run


class _Pace:
    """When to poll next: ``_POLL_START`` seconds, growing by ``_POLL_GROWTH`` up to
    ``_POLL_CEILING``; and how much of the run's deadline is left."""

    def __init__(self, deadline: float, overall_timeout: float) -> None:
        self.deadline = deadline
        self.overall_timeout = overall_timeout
        self.interval = _POLL_START
        self._failures = 0  # failed polls in a row
        self._next = _POLL_START

    def remaining(self) -> float:
        return self.deadline - clock().now()

    async def sleep(self, run: _AgentRun) -> None:
        """Wait for the next poll, never past the deadline; raise once the deadline has passed."""
        remaining = self.remaining()
        if remaining <= 0:
            raise _timed_out(run, self.overall_timeout)
        await clock().sleep(min(self._next, remaining))
        self.interval = min(self.interval * _POLL_GROWTH, _POLL_CEILING)
        self._next = self.interval

    def answered(self) -> None:
        self._failures = 0

    def failed(self, exc: ProviderError, run: _AgentRun) -> None:
        """A poll failed: wait out a 429 or a brief outage, raise anything else."""
        if isinstance(exc, ProviderHTTPError) and exc.status == 429:
            self._next = exc.retry_after if exc.retry_after is not None else self.interval
            return
        self._failures += 1
        if not exc.transient:
            raise exc
        if self._failures >= _POLL_FAILURES:
            raise ProviderUnavailableError(
                f"lost track of codegen agent run {run.id} after {self._failures} failed polls in "
                f"a row ({exc}). It may still finish: see {run.page}.",
                provider="codegen",
            ) from None


def _failed(run: _AgentRun) -> ProviderResponseError:
    detail = shorten(run.result or run.summary or "it gave no reason")
    return ProviderResponseError(
        f"codegen agent run {run.id} ended with status {run.status}: {detail}. See {run.page}.",
        provider="codegen",
    )


def _timed_out(run: _AgentRun, seconds: float) -> ProviderUnavailableError:
    return ProviderUnavailableError(
        f"codegen agent run {run.id} did not finish within {seconds:g} s (last status "
        f"{run.status or 'unknown'}). It may still finish: see {run.page}. Wait longer with the "
        "agent-timeout setting (AUTOGEN_HOOK_AGENT_TIMEOUT).",
        provider="codegen",
    )
