"""Every reply is capped: nothing past what max-tokens allows is read, and never read whole."""

from __future__ import annotations

import json
import textwrap

import pytest
from conftest import Project, ask, ok
from fakellm import FakeLLM, Huge, Raw

from autogen_hook import ProviderResponseError
from autogen_hook.providers._anthropic import AnthropicProvider
from autogen_hook.providers._openai import OpenAIProvider
from autogen_hook.providers._wire import answer_limit, stream_limit

# A fresh interpreter asks the local server for a 60 MB answer and reports the error and the
# peak of memory Python allocated while it did (tracemalloc, started after the imports).
MEASURE = """
import asyncio, os, tracemalloc
from autogen_hook.providers import CompletionRequest, Message
from autogen_hook.providers._anthropic import AnthropicProvider
from autogen_hook.providers._openai import OpenAIProvider

provider = {"openai": OpenAIProvider, "anthropic": AnthropicProvider}[os.environ["WHICH"]]()
request = CompletionRequest((Message("user", "Write it."),), "autogen.t", stream=os.environ["MODE"] == "stream")

async def main():
    try:
        await provider.complete(request)
    except Exception as exc:
        print(type(exc).__name__, exc)
    finally:
        await provider.aclose()

tracemalloc.start()
asyncio.run(main())
print(tracemalloc.get_traced_memory()[1])
"""


@pytest.mark.parametrize(
    ("provider", "mode"), [("openai", "stream"), ("openai", "whole"), ("anthropic", "stream")]
)
def test_a_60_mb_answer_is_cut_early_in_little_memory(
    project: Project, llm: FakeLLM, provider: str, mode: str
) -> None:
    (llm.openai if provider == "openai" else llm.anthropic).push(Huge(60_000_000))
    project.write("measure.py", MEASURE)
    result = project.run_file("measure.py", env={"WHICH": provider, "MODE": mode})
    *lines, peak = ok(result).strip().splitlines()
    message = "\n".join(lines)
    assert message.startswith(f"ProviderResponseError the answer from {provider} at http://127.0.0.1")
    assert f"passed {answer_limit(4096):,} characters" in message  # 4096 tokens x 16 + 64 KiB
    assert "max-tokens (4096 tokens)" in message
    assert int(peak) < 8_000_000  # reading the whole answer took 116 MB


def test_a_stream_of_one_endless_line_is_cut_at_the_stream_limit(provider_env: FakeLLM) -> None:
    provider_env.openai.push(Huge(2_000_000, piece=2_000_000))  # one 2 MB data line
    with pytest.raises(ProviderResponseError) as caught:
        ask(OpenAIProvider(), max_tokens=1)
    assert f"passed {stream_limit(1):,} characters" in str(caught.value)
    assert not caught.value.transient


def test_a_body_declaring_too_much_is_refused_unread(provider_env: FakeLLM) -> None:
    content = "x" * (answer_limit(100) + 1)
    body = {"model": "m", "content": [{"type": "text", "text": content}], "stop_reason": "end_turn"}
    provider_env.anthropic.push(Raw(json.dumps(body)))
    with pytest.raises(ProviderResponseError) as caught:
        ask(AnthropicProvider(), max_tokens=100, stream=False)
    assert "more than an answer within max-tokens (100 tokens) can be" in str(caught.value)
    assert "ANTHROPIC_BASE_URL" in str(caught.value)


def test_an_answer_within_the_limit_is_read_whole(provider_env: FakeLLM) -> None:
    provider_env.openai.push(Huge(100 * 16), Huge(100 * 16))  # exactly what 100 tokens may be
    assert len(ask(OpenAIProvider(), max_tokens=100).text) == 1600
    assert len(ask(OpenAIProvider(), max_tokens=100, stream=False).text) == 1600


def test_an_error_body_of_any_size_keeps_its_status(provider_env: FakeLLM) -> None:
    from autogen_hook import ProviderHTTPError

    provider_env.openai.push(Raw(json.dumps({"error": {"message": "busy " * 100_000}}), status=503))
    with pytest.raises(ProviderHTTPError) as caught:
        ask(OpenAIProvider(), max_tokens=1)
    assert caught.value.status == 503 and caught.value.transient


def test_an_oversized_answer_through_an_import_names_max_tokens(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Huge(10_000_000))
    script = textwrap.dedent(
        """
        try:
            from autogen.t import f
        except ImportError as exc:
            print(type(exc).__name__, exc)
        """
    )
    out = ok(project.run(script, env={"AUTOGEN_HOOK_MAX_TOKENS": "1000", "AUTOGEN_HOOK_RETRIES": "2"}))
    assert out.startswith("ProviderResponseError the answer from openai")
    assert "max-tokens (1000 tokens)" in out and "--n-predict" in out
    assert len(llm.chat_requests()) == 1  # not transient: not retried


def test_stream_lines_split_at_every_ending_even_across_chunks() -> None:
    import asyncio
    from collections.abc import AsyncIterator

    from autogen_hook.providers._wire import _lines, _Oversized, _Received

    async def chunks(*parts: str) -> AsyncIterator[str]:
        for part in parts:
            yield part

    async def lines(*parts: str, limit: int = 1000) -> list[str]:
        return [line async for line in _lines(chunks(*parts), _Received(), limit)]

    assert asyncio.run(lines("data: a\r", "\ndata: b\rdata: c\n", "\nda", "ta: d")) == [
        "data: a", "data: b", "data: c", "", "data: d",
    ]
    assert asyncio.run(lines("a\r")) == ["a"]  # a CR at the very end ends its line
    with pytest.raises(_Oversized):
        asyncio.run(lines("x" * 600, "x" * 600))  # no line ending needed to stop
