"""The Codegen agent provider against the local server: runs, statuses, polling, limits, errors."""

from __future__ import annotations

import logging

import pytest
from conftest import REPORT, FakeClock, Project, ask, report
from fakellm import FakeLLM, Raw, Run, Status, prompt_of

from autogen_hook import (
    AuthenticationError,
    MissingCredentialsError,
    ProviderHTTPError,
    ProviderResponseError,
    ProviderUnavailableError,
)
from autogen_hook._state import STATE
from autogen_hook.providers import Message, Progress
from autogen_hook.providers import _codegen as codegen
from autogen_hook.providers._codegen import CREATES, POLLS, CodegenProvider, build_prompt

GOOD = 'def f() -> int:\n    """One."""\n    return 1\n'
RESULT = f"I wrote the module.\n\n```python\n{GOOD}```\n\nIt defines f."
FAST_POLLS = """
import asyncio
from autogen_hook._state import STATE
from autogen_hook.providers._ratelimit import Clock

class Instant(Clock):  # the real poll schedule starts at 1 s: time moves as it is waited for
    time = 0.0
    def now(self):
        return self.time
    async def sleep(self, seconds):
        self.time += seconds
        await asyncio.sleep(0)

STATE.clock = Instant()
"""


@pytest.fixture(autouse=True)
def clock() -> FakeClock:
    """Every wait (polls, the limit windows, the deadline) on a clock that only waits move."""
    STATE.clock = fake = FakeClock()
    return fake


def via_codegen(project: Project, script: str = FAST_POLLS + REPORT, **env: str) -> str:
    return report(project, script, AUTOGEN_HOOK_PROVIDER="codegen", **env)


def test_run_active_for_several_polls_then_complete(provider_env: FakeLLM, caplog: pytest.LogCaptureFixture) -> None:
    provider_env.codegen.push(Run(["ACTIVE", "ACTIVE", "ACTIVE", "COMPLETE"], result=RESULT))
    progress: list[Progress] = []
    with caplog.at_level(logging.INFO, logger="autogen_hook"):
        completion = ask(CodegenProvider(), progress=progress)
    url = f"{provider_env.url}/agent/trace/1001"
    assert (completion.text, completion.url, completion.model) == (RESULT, url, codegen.DEFAULT_MODEL)
    assert [p.status for p in progress] == [
        "agent run 1001: ACTIVE", "agent run 1001: ACTIVE", "agent run 1001: ACTIVE", "agent run 1001: COMPLETE",
    ]
    assert {p.url for p in progress} == {url}
    assert [r.getMessage() for r in caplog.records] == [f"codegen agent run 1001 is writing autogen.t: {url}"]
    assert [r.path for r in provider_env.codegen_polls()] == ["/v1/organizations/42/agent/run/1001"] * 3


def test_create_request_shape(provider_env: FakeLLM) -> None:
    provider_env.codegen.push(Run(["COMPLETE"], result=RESULT))
    ask(CodegenProvider(), Message("system", "Rules."), Message("user", "Write autogen.t."))
    [create] = provider_env.codegen_creates()
    assert create.path == "/v1/organizations/42/agent/run"
    assert create.headers["authorization"] == "Bearer cg-test-fake"
    assert set(create.body) == {"prompt", "metadata"}  # no model: the organization's default
    assert create.body["metadata"] == {"client": "autogen-hook", "module": "autogen.t"}
    assert create.body["prompt"].startswith("Rules.\n\n## Task\nWrite autogen.t.")
    assert "exactly one fenced ```python code block" in create.body["prompt"]
    assert provider_env.codegen_polls() == []  # it was complete at once


def test_model_is_sent_when_set(provider_env: FakeLLM) -> None:
    provider_env.codegen.push(Run(["COMPLETE"], result=RESULT))
    assert ask(CodegenProvider(), model="claude-sonnet-4-6").model == "claude-sonnet-4-6"
    assert provider_env.codegen_creates()[0].body["model"] == "claude-sonnet-4-6"


def test_lower_case_statuses(provider_env: FakeLLM) -> None:
    provider_env.codegen.push(Run(["pending", "running", "completed"], result=RESULT))
    assert ask(CodegenProvider()).text == RESULT
    assert len(provider_env.codegen_polls()) == 2


def test_failed_run_names_its_page_and_reason(provider_env: FakeLLM) -> None:
    provider_env.codegen.push(Run(["ACTIVE", "FAILED"], result="Sandbox setup failed: out of memory"))
    with pytest.raises(ProviderResponseError) as caught:
        ask(CodegenProvider())
    message = str(caught.value)
    assert not caught.value.transient
    assert message.startswith("codegen agent run 1001 ended with status FAILED: Sandbox setup failed")
    assert f"{provider_env.url}/agent/trace/1001" in message


def test_cancelled_run_without_text(provider_env: FakeLLM) -> None:
    provider_env.codegen.push(Run(["ACTIVE", "Cancelled"]))
    with pytest.raises(ProviderResponseError, match="status Cancelled: it gave no reason"):
        ask(CodegenProvider())


def test_complete_with_empty_result_is_empty_text(provider_env: FakeLLM) -> None:
    provider_env.codegen.push(Run(["ACTIVE", "COMPLETE"], result=None))
    assert ask(CodegenProvider()).text == ""


def test_poll_429_waits_and_keeps_polling(provider_env: FakeLLM) -> None:
    provider_env.codegen.push(
        Run(["ACTIVE", Status(429, "Rate limit exceeded", {"retry-after": "0"}), "ACTIVE", "COMPLETE"], result=RESULT)
    )
    assert ask(CodegenProvider()).text == RESULT
    assert len(provider_env.codegen_polls()) == 3


def test_brief_poll_outage_is_waited_out(provider_env: FakeLLM) -> None:
    provider_env.codegen.push(Run(["ACTIVE", Status(502, "bad gateway"), "COMPLETE"], result=RESULT))
    assert ask(CodegenProvider()).text == RESULT


def test_long_poll_outage_gives_up_without_a_retry(provider_env: FakeLLM) -> None:
    provider_env.codegen.push(Run(["ACTIVE", Status(500, "database down")]))
    with pytest.raises(ProviderUnavailableError) as caught:
        ask(CodegenProvider())
    assert not caught.value.transient  # a retry would start a second run
    assert str(caught.value).startswith("lost track of codegen agent run 1001 after 5 failed polls")
    assert "database down" in str(caught.value) and "/agent/trace/1001" in str(caught.value)
    assert len(provider_env.codegen_polls()) == 5


def test_refused_poll_raises_at_once(provider_env: FakeLLM) -> None:
    provider_env.codegen.push(Run(["ACTIVE", Status(401, "token revoked")]))
    with pytest.raises(AuthenticationError, match="token revoked"):
        ask(CodegenProvider())
    assert len(provider_env.codegen_polls()) == 1


def test_deadline_is_not_transient_and_names_the_page(provider_env: FakeLLM) -> None:
    provider_env.codegen.push(Run(["QUEUED", "ACTIVE"]))
    with pytest.raises(ProviderUnavailableError) as caught:
        ask(CodegenProvider(), overall_timeout=2.0)  # polls at 1 s, then waits out the deadline
    message = str(caught.value)
    assert not caught.value.transient
    assert message.startswith("codegen agent run 1001 did not finish within 2 s (last status ACTIVE)")
    assert f"{provider_env.url}/agent/trace/1001" in message and "AUTOGEN_HOOK_AGENT_TIMEOUT" in message


def test_the_deadline_bounds_a_wait_for_the_poll_window(provider_env: FakeLLM, clock: FakeClock) -> None:
    polls = codegen.polls()
    for _ in range(POLLS[0] - 1):  # other runs of this process polled just now: one poll is left
        polls.reserve()
    provider_env.codegen.push(Run(["ACTIVE", "ACTIVE", "ACTIVE", "COMPLETE"], result=RESULT))
    with pytest.raises(ProviderUnavailableError) as caught:
        ask(CodegenProvider(), overall_timeout=5.0)
    assert str(caught.value).startswith("codegen agent run 1001 did not finish within 5 s")
    assert not caught.value.transient
    assert len(provider_env.codegen_polls()) == 1  # the second poll would start past the deadline
    assert clock.slept == [1.0, 1.5]  # the poll schedule only: the window was not waited for


def test_the_deadline_bounds_a_wait_for_the_create_window(provider_env: FakeLLM) -> None:
    creates = codegen.creates()
    for _ in range(CREATES[0]):  # other runs of this process started just now
        creates.reserve()
    with pytest.raises(ProviderUnavailableError) as caught:
        ask(CodegenProvider(), overall_timeout=5.0)
    message = str(caught.value)
    assert message.startswith("codegen could not start an agent run within 5 s")
    assert "limit of 10 runs in 60 s" in message and "AUTOGEN_HOOK_AGENT_TIMEOUT" in message
    assert provider_env.requests == [] and not caught.value.transient


def test_unknown_status_is_logged_once_and_waited_on(
    provider_env: FakeLLM, caplog: pytest.LogCaptureFixture
) -> None:
    provider_env.codegen.push(Run(["ACTIVE", "THINKING", "THINKING", "COMPLETE"], result=RESULT))
    with caplog.at_level(logging.WARNING, logger="autogen_hook"):
        assert ask(CodegenProvider()).text == RESULT
    [warning] = caplog.records
    assert "reports status 'THINKING', which autogen-hook does not know" in warning.getMessage()


def test_create_429_is_transient_with_retry_after(provider_env: FakeLLM) -> None:
    provider_env.codegen.push(Status(429, "Rate limit exceeded. Please try again later.", {"retry-after": "12"}))
    with pytest.raises(ProviderHTTPError) as caught:
        ask(CodegenProvider())
    assert caught.value.transient and caught.value.retry_after == 12.0
    assert "Rate limit exceeded" in str(caught.value)


def test_create_401_names_the_variables(provider_env: FakeLLM) -> None:
    provider_env.codegen.push(Status(401, "Invalid API token"))
    with pytest.raises(AuthenticationError) as caught:
        ask(CodegenProvider())
    assert "Invalid API token" in str(caught.value)
    assert "check CODEGEN_API_TOKEN" in str(caught.value) and "CODEGEN_ORG_ID" in str(caught.value)


def test_run_without_integer_id_is_a_response_error(provider_env: FakeLLM) -> None:
    provider_env.codegen.push(Raw('{"id": "run-abc", "organization_id": 42, "status": "ACTIVE"}'))
    with pytest.raises(ProviderResponseError, match="not an agent run"):
        ask(CodegenProvider())


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("CODEGEN_API_TOKEN", None, "CODEGEN_API_TOKEN is not set"),
        ("CODEGEN_ORG_ID", None, "CODEGEN_ORG_ID is not set"),
        ("CODEGEN_ORG_ID", "acme", "CODEGEN_ORG_ID is 'acme': set it to the number"),
    ],
)
def test_credentials_are_checked_before_any_request(
    provider_env: FakeLLM, monkeypatch: pytest.MonkeyPatch, variable: str, value: str | None, expected: str
) -> None:
    if value is None:
        monkeypatch.delenv(variable)
    else:
        monkeypatch.setenv(variable, value)
    with pytest.raises(MissingCredentialsError) as caught:
        ask(CodegenProvider())
    assert str(caught.value).startswith(expected) and "https://codegen.com/token" in str(caught.value)
    assert provider_env.requests == []


def test_creates_and_polls_go_through_the_process_windows(provider_env: FakeLLM) -> None:
    creates, polls = codegen.creates(), codegen.polls()
    for _ in range(CREATES[0] - 1):  # room for one more create
        creates.reserve()
    for _ in range(POLLS[0] - 2):  # and for two more polls
        polls.reserve()
    provider_env.codegen.push(Run(["ACTIVE", "ACTIVE", "COMPLETE"], result=RESULT))
    ask(CodegenProvider())
    assert creates.reserve(within=0) is None  # the one create filled its window
    assert polls.reserve(within=0) is None  # so did the two polls


def test_prompt_carries_rejected_answers_and_feedback() -> None:
    prompt = build_prompt(
        (
            Message("system", "Rules."),
            Message("user", "Write autogen.t."),
            Message("assistant", "no code, sorry"),
            Message("user", "That module was rejected: no code block."),
        )
    )
    assert prompt.split("\n\n## ")[1:] == [
        "Task\nWrite autogen.t.",
        "Your previous answer\nno code, sorry",
        "Feedback on that answer\nThat module was rejected: no code block.",
        codegen._ANSWER_FORMAT.removeprefix("## "),
    ]


def test_import_through_codegen_after_several_polls(project: Project, llm: FakeLLM) -> None:
    llm.codegen.push(Run(["ACTIVE", "ACTIVE", "ACTIVE", "COMPLETE"], result=RESULT))
    assert via_codegen(project) == "ok 1"
    assert len(llm.codegen_polls()) == 3
    assert "def f() -> int:" in (project.store / "t.py").read_text()


def test_import_with_the_real_poll_schedule(project: Project, llm: FakeLLM) -> None:
    llm.codegen.push(Run(["ACTIVE", "completed"], result=RESULT))
    assert via_codegen(project, REPORT) == "ok 1"
    assert len(llm.codegen_polls()) == 1


def test_failed_run_through_an_import(project: Project, llm: FakeLLM) -> None:
    llm.codegen.push(Run(["ACTIVE", "FAILED"], result="The agent crashed."))
    out = via_codegen(project, AUTOGEN_HOOK_RETRIES="2")
    assert out.startswith("ProviderResponseError | codegen agent run 1001 ended with status FAILED")
    assert "The agent crashed." in out and f"{llm.url}/agent/trace/1001" in out
    assert len(llm.codegen_creates()) == 1  # not retried


def test_poll_429_through_an_import(project: Project, llm: FakeLLM) -> None:
    llm.codegen.push(Run(["ACTIVE", Status(429, "slow down", {"retry-after": "0"}), "COMPLETE"], result=RESULT))
    assert via_codegen(project) == "ok 1"
    assert len(llm.codegen_polls()) == 2


def test_401_through_an_import_names_the_variable(project: Project, llm: FakeLLM) -> None:
    llm.codegen.push(Status(401, "Invalid API token"))
    out = via_codegen(project, AUTOGEN_HOOK_RETRIES="3")
    assert out.startswith("AuthenticationError | codegen answered HTTP 401")
    assert "check CODEGEN_API_TOKEN" in out and len(llm.codegen_creates()) == 1


def test_second_run_carries_the_validation_feedback(project: Project, llm: FakeLLM) -> None:
    llm.codegen.push(
        Run(["ACTIVE", "COMPLETE"], result="I could not write it."),
        Run(["ACTIVE", "COMPLETE"], result=RESULT),
    )
    assert via_codegen(project) == "ok 1"
    first, second = (prompt_of(r) for r in llm.codegen_creates())
    assert "## Your previous answer" not in first
    assert "## Your previous answer\nI could not write it." in second
    assert "## Feedback on that answer\nThat module was rejected" in second
    assert second.endswith(codegen._ANSWER_FORMAT)


def test_run_without_status_yet_is_waited_on_quietly(
    provider_env: FakeLLM, caplog: pytest.LogCaptureFixture
) -> None:
    provider_env.codegen.push(Run([None, None, "COMPLETE"], result=RESULT))
    progress: list[Progress] = []
    with caplog.at_level(logging.WARNING, logger="autogen_hook"):
        assert ask(CodegenProvider(), progress=progress).text == RESULT
    assert caplog.records == []
    assert [p.status for p in progress][:2] == ["agent run 1001: pending"] * 2
