"""Optional: the provider side against a real llama.cpp ``llama-server`` nobody here wrote.

Skipped unless ``REAL_LLAMA_SERVER`` holds its base URL (``http://127.0.0.1:8080``); build
and start it with ``/work/shared/real-server/setup.sh`` and ``serve.sh`` (see the README
there). Its 135M model writes poor code, so these tests check limits and messages only.
"""

from __future__ import annotations

import os

import pytest
from conftest import Project, ask, import_failure

from autogen_hook import ProviderUnavailableError
from autogen_hook.providers import Message
from autogen_hook.providers._anthropic import AnthropicProvider
from autogen_hook.providers._openai import OpenAIProvider

SERVER = os.environ.get("REAL_LLAMA_SERVER", "").rstrip("/")
pytestmark = pytest.mark.skipif(not SERVER, reason="set REAL_LLAMA_SERVER to a running llama-server")
ASK = (Message("system", "You write Python."), Message("user", "Write a Python module of string helpers."))


@pytest.fixture
def real(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith(("OPENAI_", "ANTHROPIC_", "AUTOGEN_HOOK_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("OPENAI_BASE_URL", f"{SERVER}/v1")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", SERVER)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "unused")


@pytest.mark.parametrize("provider", [OpenAIProvider, AnthropicProvider])
@pytest.mark.parametrize("stream", [True, False])
def test_the_token_limit_is_honoured_and_a_cut_off_is_marked(real: None, provider: type, stream: bool) -> None:
    completion = ask(provider(), *ASK, max_tokens=12, stream=stream)
    assert completion.truncated
    assert completion.usage.output_tokens == 12


def test_anthropic_input_tokens_include_the_cached_ones(real: None) -> None:
    ask(AnthropicProvider(), *ASK, max_tokens=4)  # warms the server's prompt cache
    cached = ask(AnthropicProvider(), *ASK, max_tokens=4).usage.input_tokens
    assert cached == ask(OpenAIProvider(), *ASK, max_tokens=4).usage.input_tokens  # prompt_tokens


def test_a_slow_answer_meets_the_deadline(real: None) -> None:
    long = Message("user", "Write a long Python module of twenty string helper functions, each with a docstring.")
    with pytest.raises(ProviderUnavailableError, match="gave no whole answer within 0.5 s .* stream events"):
        ask(OpenAIProvider(), ASK[0], long, timeout=0.5)  # the shortest of 6 answers took 0.96 s


def test_through_imports(project: Project) -> None:
    env = {"OPENAI_BASE_URL": f"{SERVER}/v1", "AUTOGEN_HOOK_MODEL": "smollm2-135m", "AUTOGEN_HOOK_MAX_ATTEMPTS": "1"}
    project.env = {k: v for k, v in project.env.items() if not k.startswith("OPENAI_")}
    out = import_failure(project, "from autogen.t import slugify", AUTOGEN_HOOK_MAX_TOKENS="16", **env)
    assert "attempt 1: the answer was cut off at max-tokens (16 tokens)" in out
    project.write("pyproject.toml", f'[tool.autogen-hook.descriptions]\n"autogen.t" = "{"A helper. " * 4000}"\n')
    out = import_failure(project, "from autogen.t import slugify", **env)
    assert "exceeds the available context size" in out
    assert "lower max-tokens (the answer's limit) or context-budget" in out
