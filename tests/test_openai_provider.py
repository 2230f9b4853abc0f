"""The OpenAI-compatible provider against a local server: retries, errors, credentials."""

from __future__ import annotations

import socket

from conftest import Project, report
from fakellm import Code, Drop, FakeLLM, Raw, Slow, Status

GOOD = 'def f() -> int:\n    """One."""\n    return 1\n'

def test_429_with_retry_after_then_success(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Status(429, "slow down", {"retry-after": "0"}), Code(GOOD))
    assert report(project, AUTOGEN_HOOK_RETRIES="2") == "ok 1"
    assert len(llm.chat_requests()) == 2


def test_retry_after_ms_is_honoured(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Status(503, "busy", {"retry-after-ms": "50"}), Code(GOOD))
    assert report(project, AUTOGEN_HOOK_RETRIES="1") == "ok 1"


def test_dropped_connection_is_retried(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Drop(), Code(GOOD))
    assert report(project, AUTOGEN_HOOK_RETRIES="1") == "ok 1"
    assert len(llm.chat_requests()) == 2


def test_persistent_5xx_gives_status_and_excerpt(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(*[Status(500, "the model crashed", {"retry-after": "0"})] * 3)
    out = report(project, AUTOGEN_HOOK_RETRIES="2")
    assert out.startswith("ProviderHTTPError | openai answered HTTP 500")
    assert "the model crashed" in out and "gave up after 3 tries" in out
    assert len(llm.chat_requests()) == 3


def test_401_is_not_retried_and_names_the_variable(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Status(401, "Incorrect API key provided"))
    out = report(project, AUTOGEN_HOOK_RETRIES="3")
    assert out.startswith("AuthenticationError | openai answered HTTP 401")
    assert "Incorrect API key provided" in out and "check OPENAI_API_KEY" in out
    assert len(llm.chat_requests()) == 1


def test_404_names_base_url_and_model(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Status(404, "model 'nope' not found"))
    out = report(project, AUTOGEN_HOOK_MODEL="nope")
    assert "HTTP 404" in out and "model 'nope' not found" in out and "OPENAI_BASE_URL and the model setting" in out
    assert llm.chat_requests()[0].body["model"] == "nope"


def test_server_down_is_a_clear_error(project: Project) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again before the script runs
    out = report(project, OPENAI_BASE_URL=f"http://127.0.0.1:{port}/v1")
    assert out.startswith("ProviderUnavailableError | the request to openai")
    assert "Check OPENAI_BASE_URL" in out


def test_missing_key_for_openai_itself_names_the_variable(project: Project) -> None:
    env = {k: v for k, v in project.env.items() if not k.startswith("OPENAI_")}
    project.env = env
    out = report(project)
    assert out.startswith("MissingCredentialsError | OPENAI_API_KEY is not set")
    assert "OPENAI_BASE_URL" in out and "AUTOGEN_HOOK_PROVIDER" in out


def test_local_server_needs_no_key(project: Project, llm: FakeLLM) -> None:
    del project.env["OPENAI_API_KEY"]
    llm.openai.push(Code(GOOD))
    assert report(project) == "ok 1"
    assert "authorization" not in llm.chat_requests()[0].headers


def test_key_is_sent_as_bearer_token(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Code(GOOD))
    assert report(project) == "ok 1"
    assert llm.chat_requests()[0].headers["authorization"] == "Bearer sk-test-fake"


def test_malformed_answer_is_a_response_error(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Raw('{"unexpected": true}'))
    out = report(project)
    assert out.startswith("ProviderResponseError | openai at http://127.0.0.1")
    assert "not a chat completion" in out


def test_unknown_provider_is_a_settings_error(project: Project) -> None:
    out = report(project, AUTOGEN_HOOK_PROVIDER="nosuch")
    assert out.startswith("SettingsError | AUTOGEN_HOOK_PROVIDER: unknown provider 'nosuch'")
    assert "openai" in out


def test_a_server_that_never_answers_times_out_naming_the_setting(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Slow(5, Code(GOOD)))
    out = report(project, AUTOGEN_HOOK_TIMEOUT="0.5")
    assert out.startswith("ProviderUnavailableError | openai at http://127.0.0.1")
    assert "gave no whole answer within 0.5 s (nothing had arrived)" in out
    assert "the timeout setting, AUTOGEN_HOOK_TIMEOUT" in out and "Is the server running" not in out


def test_a_base_url_without_a_scheme_is_a_settings_error_not_an_outage(
    project: Project, llm: FakeLLM
) -> None:
    out = report(project, OPENAI_BASE_URL="localhost:11434/v1", AUTOGEN_HOOK_RETRIES="3")
    assert out.startswith("SettingsError")
    assert "OPENAI_BASE_URL: expected an http:// or https:// URL" in out
    assert llm.chat_requests() == []
