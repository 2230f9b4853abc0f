"""Every request has a deadline: ``timeout`` bounds the whole answer, not each read.

Each fault is served by the local server for far longer than the timeout (until
the client leaves); the tests count what arrived and check the error, never the time.
"""

from __future__ import annotations

import re

import pytest
from conftest import Project, ask, report
from fakellm import Code, FakeLLM, KeepAlive, Silent, SlowBody, Text, Trickle

from autogen_hook import ProviderUnavailableError
from autogen_hook.providers._anthropic import AnthropicProvider
from autogen_hook.providers._openai import OpenAIProvider

GOOD = 'def f() -> int:\n    """One."""\n    return 1\n'


def late(provider: OpenAIProvider | AnthropicProvider, **fields: object) -> str:
    with pytest.raises(ProviderUnavailableError) as caught:
        ask(provider, **fields)
    assert caught.value.transient  # retried, within the retry budget
    message = str(caught.value)
    assert "the timeout setting, AUTOGEN_HOOK_TIMEOUT" in message
    assert "Is the server running" not in message
    return message


def test_a_stream_of_keep_alives_only_times_out(provider_env: FakeLLM) -> None:
    provider_env.openai.push(KeepAlive(every=0.05))
    message = late(OpenAIProvider(), timeout=0.5)
    assert "gave no whole answer within 0.5 s (1 stream events had arrived)" in message  # the role chunk


def test_a_stream_that_trickles_forever_times_out(provider_env: FakeLLM) -> None:
    provider_env.anthropic.push(Trickle(every=0.02))
    message = late(AnthropicProvider(), timeout=0.5)
    assert message.startswith("anthropic at http://127.0.0.1")
    arrived = int(re.search(r"\((\d+) stream events had arrived\)", message).group(1))  # type: ignore[union-attr]
    assert arrived > 4  # content kept coming after the 3 opening events: no read waited long


def test_a_body_sent_a_byte_at_a_time_times_out_though_each_read_is_quick(provider_env: FakeLLM) -> None:
    provider_env.openai.push(SlowBody(Text("x" * 100), every=0.1))  # each read waits 0.1 s
    message = late(OpenAIProvider(), timeout=1.0, stream=False)
    assert "gave no whole answer within 1 s (" in message and "characters had arrived)" in message


def test_a_body_sent_one_byte_every_two_seconds_times_out(provider_env: FakeLLM) -> None:
    provider_env.openai.push(SlowBody(Text("x" * 100), every=2.0))
    late(OpenAIProvider(), timeout=0.5, stream=False)


@pytest.mark.parametrize("stream", [True, False])
def test_a_server_that_accepts_and_never_answers_times_out(provider_env: FakeLLM, stream: bool) -> None:
    provider_env.openai.push(Silent())
    message = late(OpenAIProvider(), timeout=0.5, stream=stream)
    assert "(nothing had arrived)" in message


def test_a_whole_answer_waiting_for_its_usage_report_is_kept(provider_env: FakeLLM) -> None:
    """finish_reason arrived, then the server stalls before usage and [DONE]: the answer is whole."""
    whole = 'data: {"model": "m", "choices": [{"index": 0, "delta": {"content": "whole"}, "finish_reason": "stop"}]}\n\n'
    provider_env.openai.push(KeepAlive(prefix=whole))
    assert ask(OpenAIProvider(), timeout=0.5).text == "whole"


def test_a_stalled_stream_is_retried_through_an_import(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(KeepAlive(), Code(GOOD))
    assert report(project, AUTOGEN_HOOK_TIMEOUT="1", AUTOGEN_HOOK_RETRIES="1") == "ok 1"
    assert len(llm.chat_requests()) == 2


def test_a_silent_server_through_an_import_names_the_timeout_setting(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Silent())
    out = report(project, AUTOGEN_HOOK_TIMEOUT="0.5")
    assert out.startswith("ProviderUnavailableError | openai at http://127.0.0.1")
    assert "within 0.5 s (nothing had arrived) (the timeout setting, AUTOGEN_HOOK_TIMEOUT" in out
