"""The Anthropic Messages provider against the local server: request shape, streams, errors."""

from __future__ import annotations

import pytest
from conftest import Project, ask, report
from fakellm import Code, Cut, Drop, ErrorEvent, FakeLLM, Raw, Status, Text, prompt_of

from autogen_hook import (
    AuthenticationError,
    MissingCredentialsError,
    ProviderHTTPError,
    ProviderResponseError,
    ProviderUnavailableError,
)
from autogen_hook.providers import Message, Progress
from autogen_hook.providers._anthropic import DEFAULT_MODEL, AnthropicProvider

GOOD = 'def f() -> int:\n    """One."""\n    return 1\n'
ANSWER = "Here is the module:\n\n```python\nx = 1\n```\n" * 3


def via_anthropic(project: Project, **env: str) -> str:
    return report(project, AUTOGEN_HOOK_PROVIDER="anthropic", **env)


def test_request_shape(provider_env: FakeLLM) -> None:
    provider_env.anthropic.push(Text(ANSWER))
    ask(
        AnthropicProvider(),
        Message("system", "Rule one."),
        Message("system", "Rule two."),
        Message("user", "Write it."),
        Message("assistant", "bad"),
        Message("user", "Rejected: no code."),
        Message("user", "Try again."),
        max_tokens=2048,
    )
    [request] = provider_env.anthropic_requests()
    assert request.path == "/v1/messages"
    assert request.headers["x-api-key"] == "sk-ant-test-fake"
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in request.headers
    assert request.body == {
        "model": DEFAULT_MODEL,
        "max_tokens": 2048,
        "system": "Rule one.\n\nRule two.",
        "messages": [
            {"role": "user", "content": "Write it."},
            {"role": "assistant", "content": "bad"},
            {"role": "user", "content": "Rejected: no code.\n\nTry again."},
        ],
        "stream": True,
    }


def test_stream_reads_named_events(provider_env: FakeLLM) -> None:
    provider_env.anthropic.push(Text(ANSWER, model="claude-test"))
    progress: list[Progress] = []
    completion = ask(AnthropicProvider(), progress=progress, model="claude-test")
    pieces = -(-len(ANSWER) // 16)  # the server sends 16 characters a text_delta
    assert completion.text == ANSWER and completion.model == "claude-test"
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (100, pieces)
    assert [p.tokens for p in progress] == list(range(1, pieces + 1))
    assert provider_env.anthropic_requests()[0].body["model"] == "claude-test"


def test_whole_message_when_stream_is_off(provider_env: FakeLLM) -> None:
    provider_env.anthropic.push(Text(ANSWER))
    completion = ask(AnthropicProvider(), stream=False)
    assert completion.text == ANSWER
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (100, 50)
    assert provider_env.anthropic_requests()[0].body["stream"] is False


def test_only_text_blocks_make_the_answer(provider_env: FakeLLM) -> None:
    body = (
        '{"model": "m", "usage": {"input_tokens": 3, "output_tokens": 4}, "content": ['
        '{"type": "thinking", "thinking": "hmm"}, {"type": "text", "text": "a"},'
        '{"type": "text", "text": "b"}]}'
    )
    provider_env.anthropic.push(Raw(body))
    assert ask(AnthropicProvider(), stream=False).text == "ab"


def test_529_overloaded_is_transient(provider_env: FakeLLM) -> None:
    provider_env.anthropic.push(Status(529, "Overloaded"))
    with pytest.raises(ProviderHTTPError) as caught:
        ask(AnthropicProvider())
    assert caught.value.transient and caught.value.status == 529
    assert "anthropic answered HTTP 529" in str(caught.value) and "Overloaded" in str(caught.value)


def test_429_carries_retry_after(provider_env: FakeLLM) -> None:
    provider_env.anthropic.push(Status(429, "Number of requests has exceeded your rate limit", {"retry-after": "7"}))
    with pytest.raises(ProviderHTTPError) as caught:
        ask(AnthropicProvider())
    assert caught.value.transient and caught.value.retry_after == 7.0


def test_overloaded_error_event_mid_stream_is_transient(provider_env: FakeLLM) -> None:
    provider_env.anthropic.push(ErrorEvent("overloaded_error", "Overloaded", after=32))
    with pytest.raises(ProviderHTTPError) as caught:
        ask(AnthropicProvider())
    error = caught.value
    assert error.transient and error.status == 529
    assert "anthropic sent an error as chunk 6 of its stream" in str(error)  # after 3 opening events, 2 deltas
    assert "Overloaded (overloaded_error)" in str(error)


def test_invalid_request_error_event_is_not_transient(provider_env: FakeLLM) -> None:
    provider_env.anthropic.push(ErrorEvent("invalid_request_error", "prompt is too long", after=0))
    with pytest.raises(ProviderHTTPError) as caught:
        ask(AnthropicProvider())
    assert not caught.value.transient and caught.value.status == 400


def test_cut_stream_is_transient(provider_env: FakeLLM) -> None:
    provider_env.anthropic.push(Cut(48))
    with pytest.raises(ProviderUnavailableError) as caught:
        ask(AnthropicProvider())
    assert caught.value.transient
    assert "the stream from anthropic" in str(caught.value) and "cut after 6 chunks" in str(caught.value)


def test_401_names_the_key(provider_env: FakeLLM) -> None:
    provider_env.anthropic.push(Status(401, "invalid x-api-key"))
    with pytest.raises(AuthenticationError) as caught:
        ask(AnthropicProvider())
    assert "invalid x-api-key" in str(caught.value) and "check ANTHROPIC_API_KEY" in str(caught.value)
    assert not caught.value.transient


def test_malformed_answer_is_a_response_error(provider_env: FakeLLM) -> None:
    provider_env.anthropic.push(Raw('{"unexpected": true}'))
    with pytest.raises(ProviderResponseError) as caught:
        ask(AnthropicProvider(), stream=False)
    assert "not a Messages API message" in str(caught.value) and "ANTHROPIC_BASE_URL" in str(caught.value)


def test_missing_key_names_both_variables(provider_env: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    monkeypatch.delenv("ANTHROPIC_BASE_URL")
    with pytest.raises(MissingCredentialsError) as caught:
        ask(AnthropicProvider())
    assert str(caught.value).startswith("ANTHROPIC_API_KEY is not set")
    assert "ANTHROPIC_BASE_URL" in str(caught.value)
    assert provider_env.requests == []


def test_gateway_without_key_gets_no_key_header(provider_env: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    provider_env.anthropic.push(Text("ok"))
    assert ask(AnthropicProvider()).text == "ok"
    assert "x-api-key" not in provider_env.anthropic_requests()[0].headers


def test_import_through_anthropic(project: Project, llm: FakeLLM) -> None:
    llm.anthropic.push(Code(GOOD))
    assert via_anthropic(project) == "ok 1"
    [request] = llm.anthropic_requests()
    assert request.body["stream"] is True and request.body["max_tokens"] == 4096
    assert "You write Python modules for autogen-hook" in request.body["system"]
    assert [m["role"] for m in request.body["messages"]] == ["user"]
    assert "Write the module `autogen.t`" in prompt_of(request)
    assert "# autogen-hook: generated module autogen.t" in (project.store / "t.py").read_text()


def test_429_with_retry_after_then_success(project: Project, llm: FakeLLM) -> None:
    llm.anthropic.push(Status(429, "rate limited", {"retry-after": "0"}), Code(GOOD))
    assert via_anthropic(project, AUTOGEN_HOOK_RETRIES="2") == "ok 1"
    assert len(llm.anthropic_requests()) == 2


def test_529_then_success(project: Project, llm: FakeLLM) -> None:
    llm.anthropic.push(Status(529, "Overloaded", {"retry-after": "0"}), Code(GOOD))
    assert via_anthropic(project, AUTOGEN_HOOK_RETRIES="1") == "ok 1"
    assert len(llm.anthropic_requests()) == 2


def test_dropped_connection_then_success(project: Project, llm: FakeLLM) -> None:
    llm.anthropic.push(Drop(), Code(GOOD))
    assert via_anthropic(project, AUTOGEN_HOOK_RETRIES="1") == "ok 1"
    assert len(llm.anthropic_requests()) == 2


def test_stream_cut_mid_way_then_success(project: Project, llm: FakeLLM) -> None:
    llm.anthropic.push(Cut(48), Code(GOOD))
    assert via_anthropic(project, AUTOGEN_HOOK_RETRIES="1") == "ok 1"
    assert len(llm.anthropic_requests()) == 2


def test_persistent_overload_names_the_event(project: Project, llm: FakeLLM) -> None:
    llm.anthropic.push(ErrorEvent(), ErrorEvent())
    out = via_anthropic(project, AUTOGEN_HOOK_RETRIES="1")
    assert out.startswith("ProviderHTTPError | anthropic sent an error as chunk 6")
    assert "Overloaded (overloaded_error)" in out and "gave up after 2 tries" in out


def test_401_through_an_import_names_the_variable(project: Project, llm: FakeLLM) -> None:
    llm.anthropic.push(Status(401, "invalid x-api-key"))
    out = via_anthropic(project, AUTOGEN_HOOK_RETRIES="3")
    assert out.startswith("AuthenticationError | anthropic answered HTTP 401")
    assert "check ANTHROPIC_API_KEY" in out
    assert len(llm.anthropic_requests()) == 1
