"""OpenAI-compatible streaming against the local server: chunks, usage, cuts, error events."""

from __future__ import annotations

import json

import pytest
from conftest import Project, ask, ok
from fakellm import Code, Cut, ErrorEvent, FakeLLM, Raw, Text

from autogen_hook import ProviderHTTPError, ProviderResponseError, ProviderUnavailableError
from autogen_hook.providers import Progress
from autogen_hook.providers._openai import OpenAIProvider

GOOD = 'def f() -> int:\n    """One."""\n    return 1\n'
ANSWER = "Here is the module:\n\n```python\nx = 1\n```\n" * 3


def sse(*payloads: object) -> str:
    return "".join(f"data: {p if isinstance(p, str) else json.dumps(p)}\n\n" for p in payloads)


def chunk(content: str | None = None, finish: str | None = None) -> dict[str, object]:
    delta = {} if content is None else {"content": content}
    return {"model": "m-1", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def test_stream_accumulates_deltas_usage_and_progress(provider_env: FakeLLM) -> None:
    provider_env.openai.push(Text(ANSWER, model="gpt-test"))
    progress: list[Progress] = []
    completion = ask(OpenAIProvider(), progress=progress)
    assert completion.text == ANSWER
    assert completion.model == "gpt-test"
    pieces = -(-len(ANSWER) // 16)  # the server streams 16 characters a chunk
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (100, pieces)
    assert [p.tokens for p in progress] == list(range(1, pieces + 1))
    [request] = provider_env.chat_requests()
    assert request.body["stream"] is True
    assert request.body["stream_options"] == {"include_usage": True}


def test_non_streaming_request_when_stream_is_off(provider_env: FakeLLM) -> None:
    provider_env.openai.push(Text(ANSWER))
    progress: list[Progress] = []
    completion = ask(OpenAIProvider(), progress=progress, stream=False)
    assert completion.text == ANSWER and completion.usage.output_tokens == 50
    assert progress == []
    [request] = provider_env.chat_requests()
    assert "stream" not in request.body and "stream_options" not in request.body


def test_server_answering_json_to_a_stream_request_is_read(provider_env: FakeLLM) -> None:
    body = {"model": "m", "choices": [{"message": {"content": "plain"}, "finish_reason": "stop"}]}
    provider_env.openai.push(Raw(json.dumps(body)))
    assert ask(OpenAIProvider()).text == "plain"


def test_cut_stream_is_transient_and_says_where(provider_env: FakeLLM) -> None:
    provider_env.openai.push(Cut(40))
    with pytest.raises(ProviderUnavailableError) as caught:
        ask(OpenAIProvider())
    assert caught.value.transient
    assert "the stream from openai at http://127.0.0.1" in str(caught.value)
    assert "was cut after 4 chunks" in str(caught.value)  # role chunk + three 16-character deltas


def test_cut_json_body_is_transient(provider_env: FakeLLM) -> None:
    provider_env.openai.push(Cut(30))
    with pytest.raises(ProviderUnavailableError) as caught:
        ask(OpenAIProvider(), stream=False)
    assert caught.value.transient and "the request to openai" in str(caught.value)


def test_stream_that_ends_before_done_or_finish_is_cut(provider_env: FakeLLM) -> None:
    provider_env.openai.push(Raw(sse(chunk("partial")), content_type="text/event-stream"))
    with pytest.raises(ProviderUnavailableError) as caught:
        ask(OpenAIProvider())
    assert caught.value.transient
    assert "cut after 1 chunks (the connection closed before the end of the answer)" in str(caught.value)


def test_finish_without_done_or_usage_still_completes(provider_env: FakeLLM) -> None:
    provider_env.openai.push(
        Raw(sse(chunk("whole"), chunk(finish="stop")), content_type="text/event-stream")
    )
    completion = ask(OpenAIProvider())
    assert (completion.text, completion.model, completion.usage.output_tokens) == ("whole", "m-1", 0)


def test_usage_chunk_with_null_choices_is_read(provider_env: FakeLLM) -> None:
    usage = {"model": "m-1", "choices": None, "usage": {"prompt_tokens": 7, "completion_tokens": 3}}
    raw = sse(chunk("a"), chunk("b", "stop"), usage, "[DONE]")
    provider_env.openai.push(Raw(raw, content_type="text/event-stream"))
    completion = ask(OpenAIProvider())
    assert completion.text == "ab" and (completion.usage.input_tokens, completion.usage.output_tokens) == (7, 3)


def test_error_event_for_server_trouble_is_transient(provider_env: FakeLLM) -> None:
    provider_env.openai.push(ErrorEvent("server_error", "The server had an error"))
    with pytest.raises(ProviderHTTPError) as caught:
        ask(OpenAIProvider())
    error = caught.value
    assert error.transient and error.status == 500
    assert "openai sent an error as chunk 4 of its stream" in str(error) and "The server had an error" in str(error)


def test_error_event_with_rate_limit_code_is_transient(provider_env: FakeLLM) -> None:
    event = {"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}
    provider_env.openai.push(Raw(sse(chunk("a"), event), content_type="text/event-stream"))
    with pytest.raises(ProviderHTTPError) as caught:
        ask(OpenAIProvider())
    assert caught.value.transient and caught.value.status == 429


def test_error_event_for_a_bad_request_is_not_transient(provider_env: FakeLLM) -> None:
    event = {"error": {"message": "context too long", "type": "BadRequestError", "code": 400}}
    provider_env.openai.push(Raw(sse(event), content_type="text/event-stream"))
    with pytest.raises(ProviderHTTPError) as caught:
        ask(OpenAIProvider())
    assert not caught.value.transient and caught.value.status == 400
    assert "context too long" in str(caught.value)


def test_malformed_chunk_is_a_response_error(provider_env: FakeLLM) -> None:
    provider_env.openai.push(Raw("data: {not json\n\n", content_type="text/event-stream"))
    with pytest.raises(ProviderResponseError) as caught:
        ask(OpenAIProvider())
    assert "not a stream event" in str(caught.value) and "OPENAI_BASE_URL" in str(caught.value)


def test_stream_cut_mid_way_is_retried_through_an_import(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Cut(40), Code(GOOD))
    out = ok(project.run("from autogen.t import f\nprint(f())\n", env={"AUTOGEN_HOOK_RETRIES": "1"}))
    assert out.strip() == "1"
    assert [r.body["stream"] for r in llm.chat_requests()] == [True, True]
