"""Every answer is bounded by max-tokens, in the form each server honours; cut-off answers say so."""

from __future__ import annotations

import asyncio
import json

import pytest
from conftest import Project, ask, import_failure, report
from fakellm import Code, FakeLLM, Raw, Status, Text

from autogen_hook import ProviderHTTPError
from autogen_hook.providers import Completion, CompletionRequest, Message
from autogen_hook.providers._anthropic import AnthropicProvider
from autogen_hook.providers._openai import OpenAIProvider, _refuses

GOOD = 'def f() -> int:\n    """One."""\n    return 1\n'
UNSUPPORTED = "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead."


def token_fields(request_body: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in request_body.items() if k in ("max_tokens", "max_completion_tokens")}


def test_every_provider_sends_the_default_limit_of_4096(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Code(GOOD))
    llm.anthropic.push(Code(GOOD))
    assert report(project) == "ok 1"
    (project.store / "t.py").unlink()
    assert report(project, AUTOGEN_HOOK_PROVIDER="anthropic") == "ok 1"
    assert [token_fields(r.body) for r in llm.chat_requests()] == [{"max_tokens": 4096}]
    assert [token_fields(r.body) for r in llm.anthropic_requests()] == [{"max_tokens": 4096}]


def test_the_max_tokens_setting_is_sent(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Code(GOOD))
    assert report(project, AUTOGEN_HOOK_MAX_TOKENS="1234", AUTOGEN_HOOK_STREAM="0") == "ok 1"
    assert token_fields(llm.chat_requests()[0].body) == {"max_tokens": 1234}


def test_api_openai_com_gets_max_completion_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    """No request leaves the machine: the form is chosen from the base URL alone."""
    monkeypatch.setenv("OPENAI_BASE_URL", "https://api.openai.com/v1")
    assert OpenAIProvider()._token_limit == "max_completion_tokens"
    for local in ("http://localhost:11434/v1", "http://127.0.0.1:8080/v1", "https://openrouter.ai/api/v1"):
        monkeypatch.setenv("OPENAI_BASE_URL", local)
        assert OpenAIProvider()._token_limit == "max_tokens"


@pytest.mark.parametrize("stream", [True, False])
def test_a_400_refusing_max_tokens_is_asked_again_with_max_completion_tokens(
    provider_env: FakeLLM, stream: bool
) -> None:
    provider_env.openai.push(Status(400, UNSUPPORTED), Text("one"), Text("two"))
    provider = OpenAIProvider()

    async def twice() -> list[Completion]:
        request = CompletionRequest((Message("user", "Write it."),), "autogen.t", max_tokens=300, stream=stream)
        try:
            return [await provider.complete(request), await provider.complete(request)]
        finally:
            await provider.aclose()

    assert [c.text for c in asyncio.run(twice())] == ["one", "two"]
    assert [token_fields(r.body) for r in provider_env.chat_requests()] == [
        {"max_tokens": 300},
        {"max_completion_tokens": 300},
        {"max_completion_tokens": 300},  # remembered for this model: no second 400
    ]


def test_the_fallback_is_tried_once(provider_env: FakeLLM) -> None:
    provider_env.openai.push(Status(400, UNSUPPORTED), Status(400, "Unrecognized request argument supplied: max_completion_tokens"))
    with pytest.raises(ProviderHTTPError, match="max_completion_tokens"):
        ask(OpenAIProvider())
    assert len(provider_env.chat_requests()) == 2


def test_which_400s_mean_the_parameter_is_refused() -> None:
    assert _refuses(UNSUPPORTED, "max_tokens")
    assert _refuses("Unrecognized request argument supplied: max_completion_tokens", "max_completion_tokens")
    assert _refuses("max_completion_tokens: Extra inputs are not permitted", "max_completion_tokens")
    assert not _refuses("max_tokens must be at least 1, got 0", "max_tokens")
    assert not _refuses(  # vLLM's context error names the parameter too
        "'max_tokens' is too large: 4096. This model's maximum context length is 8192 tokens and "
        "your request has 6000 input tokens (4096 > 8192 - 6000). Unsupported.", "max_tokens"
    )


CONTEXT_ERRORS = [
    "request (9031 tokens) exceeds the available context size (8192 tokens), try increasing it",  # llama.cpp
    "This model's maximum context length is 8192 tokens. However, you requested 9000 tokens.",  # vLLM, OpenAI
    "prompt is too long: 210000 tokens > 200000 maximum",  # Anthropic
]


@pytest.mark.parametrize("message", CONTEXT_ERRORS)
def test_a_400_about_the_context_size_names_max_tokens_and_context_budget(
    provider_env: FakeLLM, message: str
) -> None:
    provider_env.openai.push(Status(400, message))
    with pytest.raises(ProviderHTTPError) as caught:
        ask(OpenAIProvider())
    text = str(caught.value)
    assert "lower max-tokens (the answer's limit) or context-budget" in text
    assert "check the model setting" not in text and not caught.value.transient
    assert len(provider_env.chat_requests()) == 1


def test_a_context_error_event_in_an_anthropic_stream_names_the_settings(provider_env: FakeLLM) -> None:
    from fakellm import ErrorEvent

    provider_env.anthropic.push(ErrorEvent("invalid_request_error", "prompt is too long: 9000 tokens", after=0))
    with pytest.raises(ProviderHTTPError, match="lower max-tokens .* or context-budget"):
        ask(AnthropicProvider())


def test_a_context_overflow_on_a_retry_also_shows_the_first_attempts_problem(
    project: Project, llm: FakeLLM
) -> None:
    llm.openai.push(Code("def f(:\n    pass"), Status(400, CONTEXT_ERRORS[0]))
    out = import_failure(project, "from autogen.t import f")
    assert out.startswith("ProviderHTTPError autogen.t")
    assert "lower max-tokens" in out and "context-budget" in out
    assert "\n  attempt 1 failed validation: line 1:" in out


@pytest.mark.parametrize("stream", [True, False])
def test_a_cut_off_answer_is_marked_truncated(provider_env: FakeLLM, stream: bool) -> None:
    provider_env.openai.push(Text("def f(", truncated=True), Text("def f(): pass"))
    provider_env.anthropic.push(Text("def f(", truncated=True), Text("def f(): pass"))
    for provider in (OpenAIProvider, AnthropicProvider):
        assert ask(provider(), stream=stream).truncated
        assert not ask(provider(), stream=stream).truncated


def test_a_cut_off_answer_names_max_tokens_through_an_import(project: Project, llm: FakeLLM) -> None:
    llm.anthropic.push(*[Text("```python\ndef f() -> int:\n    return (1 +", truncated=True)] * 2)
    out = import_failure(
        project, "from autogen.t import f",
        AUTOGEN_HOOK_PROVIDER="anthropic", AUTOGEN_HOOK_MAX_ATTEMPTS="2", AUTOGEN_HOOK_MAX_TOKENS="900",
    )
    assert out.startswith("ValidationFailedError autogen.t")
    cut = "the answer was cut off at max-tokens (900 tokens) before it ended"
    assert f"attempt 1: {cut}" in out and f"attempt 2: {cut}" in out
    assert "was never closed" not in out
    assert out.rstrip().endswith(
        "The answer was cut off: raise max-tokens (AUTOGEN_HOOK_MAX_TOKENS), or ask for a smaller module."
    )
    retry = llm.anthropic_requests()[1].body["messages"]
    assert cut in retry[-1]["content"]  # the model is told too
    assert all(m["role"] == "user" for m in retry)  # the cut-off answer is not sent back


def test_cached_input_tokens_count(provider_env: FakeLLM) -> None:
    usage = {"input_tokens": 189, "cache_read_input_tokens": 342, "cache_creation_input_tokens": 10, "output_tokens": 1}
    start = {"type": "message_start", "message": {"model": "m", "content": [], "usage": usage}}
    delta = {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 7}}
    events = [start, {"type": "content_block_delta", "delta": {"type": "text_delta", "text": "x"}}, delta, {"type": "message_stop"}]
    stream = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events)
    whole = {"model": "m", "content": [{"type": "text", "text": "x"}], "usage": {**usage, "output_tokens": 7}}
    provider_env.anthropic.push(Raw(stream, content_type="text/event-stream"), Raw(json.dumps(whole)))
    assert ask(AnthropicProvider()).usage.input_tokens == 541
    assert ask(AnthropicProvider(), stream=False).usage.input_tokens == 541
    # OpenAI-compatible servers count cached tokens inside prompt_tokens (llama.cpp: 36 with 35 cached)
    chat = {"model": "m", "choices": [{"message": {"content": "x"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 36, "completion_tokens": 1, "prompt_tokens_details": {"cached_tokens": 35}}}
    provider_env.openai.push(Raw(json.dumps(chat)))
    assert ask(OpenAIProvider(), stream=False).usage.input_tokens == 36
