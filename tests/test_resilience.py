"""Around every provider call: plugins, routing, fallback, circuit breaker, rate limiter."""

from __future__ import annotations

import asyncio
import socket
import textwrap
from pathlib import Path

import pytest
from conftest import Project, ok
from fakellm import Code, FakeLLM, Recorded, Slow, Status

from autogen_hook import _resilience

GOOD = 'def f() -> int:\n    """One."""\n    return 1\n'

# A real third-party provider: its own package, found through the entry-point group.
PLUGIN = '''
"""An OpenAI-compatible service at SECOND_BASE_URL, shipped as a separate package."""

import os

import httpx

from autogen_hook import ProviderHTTPError, ProviderUnavailableError
from autogen_hook.providers import Completion, Usage


class SecondProvider:
    name = "second"
    environment = ("SECOND_BASE_URL",)

    def __init__(self):
        self.url = os.environ["SECOND_BASE_URL"].rstrip("/") + "/chat/completions"
        self.client = httpx.AsyncClient()

    async def complete(self, request, progress=None):
        if os.environ.get("SECOND_BUG"):
            raise RuntimeError("a bug in the plugin")
        body = {"model": request.model or "second-model",
                "messages": [{"role": m.role, "content": m.content} for m in request.messages]}
        try:
            response = await self.client.post(
                self.url, json=body, headers={"authorization": "Bearer second-key"})
        except httpx.HTTPError as exc:
            raise ProviderUnavailableError(f"second is down: {exc}", provider=self.name,
                                           transient=True) from None
        if response.status_code >= 400:
            raise ProviderHTTPError(f"second said {response.status_code}", provider=self.name,
                                    status=response.status_code, body=response.text,
                                    transient=response.status_code >= 500)
        data = response.json()
        return Completion(text=data["choices"][0]["message"]["content"], model=data["model"],
                          usage=Usage(1, 1))

    async def aclose(self):
        await self.client.aclose()
'''


@pytest.fixture
def plugin(project: Project, tmp_path: Path, llm: FakeLLM) -> None:
    """Install the 'second' provider plugin on the project's PYTHONPATH."""
    site = tmp_path / "plugin-site"
    (site / "second_provider-1.0.dist-info").mkdir(parents=True)
    (site / "second_provider.py").write_text(PLUGIN)
    (site / "second_provider-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: second-provider\nVersion: 1.0\n"
    )
    (site / "second_provider-1.0.dist-info" / "entry_points.txt").write_text(
        "[autogen_hook.providers]\nsecond = second_provider:SecondProvider\n"
    )
    project.env["PYTHONPATH"] = str(site)
    project.env["SECOND_BASE_URL"] = llm.openai_url


def dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/v1"


def by_provider(request: Recorded) -> str:
    return "second" if request.headers.get("authorization") == "Bearer second-key" else "openai"


def stored_provider(project: Project, module: str) -> str:
    from autogen_hook._store import Store

    meta = Store(str(project.store)).metadata(module)
    assert meta is not None
    return str(meta["provider"])


def test_third_party_provider_from_an_entry_point(project: Project, llm: FakeLLM, plugin: None) -> None:
    llm.openai.push(Code(GOOD))
    out = ok(project.run("from autogen.t import f\nprint(f())\n", env={"AUTOGEN_HOOK_PROVIDER": "second"}))
    assert out.strip() == "1"
    assert [by_provider(r) for r in llm.chat_requests()] == ["second"]
    assert stored_provider(project, "autogen.t") == "second"
    assert "(second, fake-model," in (project.store / "t.py").read_text()


def test_fallback_from_a_dead_provider_to_a_live_one(project: Project, llm: FakeLLM, plugin: None) -> None:
    llm.openai.push(Code(GOOD))
    result = project.run(
        "from autogen.t import f\nprint(f())\n",
        env={"AUTOGEN_HOOK_PROVIDER": "openai,second", "OPENAI_BASE_URL": dead_url()},
    )
    assert ok(result).strip() == "1"
    assert "openai is unavailable, trying the next provider" in result.stderr
    assert stored_provider(project, "autogen.t") == "second"


def test_a_chain_of_dead_providers_reports_each(project: Project, plugin: None) -> None:
    out = ok(
        project.run(
            "try:\n    from autogen.t import f\nexcept ImportError as e:\n    print(type(e).__name__, e)\n",
            env={"AUTOGEN_HOOK_PROVIDER": "openai,second", "OPENAI_BASE_URL": dead_url(),
                 "SECOND_BASE_URL": dead_url()},
        )
    )
    assert out.startswith("ProviderUnavailableError every provider in the chain is unavailable")
    assert "openai: the request to openai" in out and "second: second is down" in out


def test_configuration_errors_do_not_fall_back(project: Project, llm: FakeLLM, plugin: None) -> None:
    llm.openai.push(Status(401, "bad key"))
    out = ok(
        project.run(
            "try:\n    from autogen.t import f\nexcept ImportError as e:\n    print(type(e).__name__)\n",
            env={"AUTOGEN_HOOK_PROVIDER": "openai,second"},
        )
    )
    assert out.strip() == "AuthenticationError"
    assert [by_provider(r) for r in llm.chat_requests()] == ["openai"]


def test_a_provider_that_raises_anything_else_is_an_outage(
    project: Project, llm: FakeLLM, plugin: None
) -> None:
    llm.openai.push(Code(GOOD))
    script = (
        "try:\n    from autogen.t import f\n    print(f())\n"
        "except ImportError as e:\n    print(type(e).__name__, e.name, e)\n"
    )
    alone = ok(project.run(script, env={"AUTOGEN_HOOK_PROVIDER": "second", "SECOND_BUG": "1"}))
    assert alone.startswith("ProviderUnavailableError autogen.t the second provider failed unexpectedly")
    assert "(RuntimeError: a bug in the plugin)" in alone
    fallback = project.run(script, env={"AUTOGEN_HOOK_PROVIDER": "second,openai", "SECOND_BUG": "1"})
    assert ok(fallback).strip() == "1"
    assert stored_provider(project, "autogen.t") == "openai"


def test_routes_send_matching_modules_to_their_provider(
    project: Project, llm: FakeLLM, plugin: None
) -> None:
    project.write(
        "pyproject.toml",
        """
        [project]
        name = "x"

        [tool.autogen-hook.routes]
        "autogen.reports.*" = "second"
        "autogen.reports.special" = "openai"
        """,
    )
    llm.openai.responder = lambda request: Code(GOOD)
    ok(project.run("from autogen.reports.daily import f\nfrom autogen.util import f\nfrom autogen.reports.special import f\n"))
    assert [by_provider(r) for r in llm.chat_requests()] == ["second", "openai", "openai"]
    assert stored_provider(project, "autogen.reports.daily") == "second"


CIRCUIT = """
import time
import autogen_hook

def attempt(module):
    try:
        return autogen_hook.generate(module, ["f"]).provider
    except ImportError as exc:
        return f"{type(exc).__name__}: {'circuit is open' in str(exc)}"

for module in ("autogen.a", "autogen.b", "autogen.c"):
    print(attempt(module))
time.sleep(0.7)  # the cool-down, so the next call is the half-open trial
print(attempt("autogen.d"))
print(attempt("autogen.e"))
"""


def test_circuit_opens_fails_fast_then_lets_a_trial_through(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Status(503, "down"), Status(503, "down"), Code(GOOD), Code(GOOD))
    out = ok(
        project.run(
            CIRCUIT,
            env={"AUTOGEN_HOOK_BREAKER_THRESHOLD": "2", "AUTOGEN_HOOK_BREAKER_COOLDOWN": "0.5"},
        )
    )
    assert out.split("\n")[:5] == [
        "ProviderHTTPError: False",
        "ProviderHTTPError: False",
        "ProviderUnavailableError: True",
        "openai",
        "openai",
    ]
    assert len(llm.chat_requests()) == 4  # the open circuit sent nothing


def test_a_cancelled_trial_does_not_keep_the_circuit_open(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Status(503, "down"), Slow(2.0, Code(GOOD)), Code(GOOD))
    out = ok(
        project.run(
            """
            import asyncio, time
            import autogen_hook

            for module in ("autogen.a", "autogen.b"):
                try:
                    autogen_hook.generate(module, ["f"])
                except ImportError as exc:
                    print(type(exc).__name__, exc.name)
            time.sleep(0.4)
            try:  # the half-open trial, given up by the caller
                asyncio.run(asyncio.wait_for(autogen_hook.agenerate("autogen.c", ["f"]), 0.3))
            except asyncio.TimeoutError:
                print("gave up")
            print(autogen_hook.generate("autogen.d", ["f"]).provider)
            """,
            env={"AUTOGEN_HOOK_BREAKER_THRESHOLD": "1", "AUTOGEN_HOOK_BREAKER_COOLDOWN": "0.3"},
        )
    )
    assert out.split("\n")[:4] == [
        "ProviderHTTPError autogen.a",
        "ProviderUnavailableError autogen.b",  # the open circuit names the module too
        "gave up",
        "openai",
    ]


def test_open_circuit_hands_over_to_the_next_provider(
    project: Project, llm: FakeLLM, plugin: None
) -> None:
    llm.openai.responder = lambda r: Status(503, "down") if by_provider(r) == "openai" else Code(GOOD)
    out = ok(
        project.run(
            "import autogen_hook\n"
            "print(autogen_hook.generate('autogen.a', ['f']).provider)\n"
            "print(autogen_hook.generate('autogen.b', ['f']).provider)\n",
            env={"AUTOGEN_HOOK_PROVIDER": "openai,second", "AUTOGEN_HOOK_BREAKER_THRESHOLD": "1"},
        )
    )
    assert out.split() == ["second", "second"]
    assert [by_provider(r) for r in llm.chat_requests()] == ["openai", "second", "second"]


def test_rate_limiter_spaces_request_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [100.0]
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))
        clock[0] += seconds

    monkeypatch.setattr(_resilience.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(_resilience.asyncio, "sleep", fake_sleep)

    async def three_requests(rate: float) -> None:
        limiter = _resilience._RateLimiter()
        for _ in range(3):
            await limiter.wait(rate)

    asyncio.run(three_requests(30))  # 30 a minute: one every 2 s
    assert slept == [2.0, 2.0]
    slept.clear()
    asyncio.run(three_requests(0))  # 0: unlimited
    assert slept == []


def test_rate_limit_setting_is_applied(project: Project, llm: FakeLLM) -> None:
    llm.openai.responder = lambda r: Code(GOOD)
    script = textwrap.dedent(
        """
        import autogen_hook
        from autogen_hook import _resilience
        waits = []
        original = _resilience._RateLimiter.wait
        async def spy(self, rate):
            waits.append(rate)
            await original(self, rate)
        _resilience._RateLimiter.wait = spy
        autogen_hook.generate("autogen.a", ["f"])
        print(waits)
        """
    )
    assert ok(project.run(script, env={"AUTOGEN_HOOK_RATE_LIMIT": "600"})).strip() == "[600.0]"


def test_fallback_from_dead_openai_to_live_anthropic(project: Project, llm: FakeLLM) -> None:
    llm.anthropic.push(Code(GOOD, model="claude-test"))
    result = project.run(
        "from autogen.t import f\nprint(f())\n",
        env={"AUTOGEN_HOOK_PROVIDER": "openai,anthropic", "OPENAI_BASE_URL": dead_url()},
    )
    assert ok(result).strip() == "1"
    assert len(llm.anthropic_requests()) == 1
    assert stored_provider(project, "autogen.t") == "anthropic"
    assert "(anthropic, claude-test," in (project.store / "t.py").read_text()


def test_each_provider_of_a_chain_can_name_its_own_model(project: Project, llm: FakeLLM) -> None:
    project.write(
        "pyproject.toml",
        """
        [project]
        name = "x"

        [tool.autogen-hook]
        model = "shared-model"
        provider = ["openai:gpt-test", "anthropic:claude-test"]

        [tool.autogen-hook.routes]
        "autogen.other" = "openai"
        """,
    )
    llm.openai.push(Code(GOOD))
    llm.anthropic.push(Code(GOOD))
    ok(project.run("from autogen.other import f\n"))
    ok(project.run("from autogen.t import f\n", env={"OPENAI_BASE_URL": dead_url()}))
    assert [r.body["model"] for r in llm.chat_requests()] == ["shared-model"]  # no model of its own
    assert [r.body["model"] for r in llm.anthropic_requests()] == ["claude-test"]
    assert stored_provider(project, "autogen.t") == "anthropic"


def test_a_model_the_provider_does_not_know_says_how_to_name_one_per_provider(
    project: Project, llm: FakeLLM
) -> None:
    llm.anthropic.push(Status(404, "model: gpt-4o-mini"))
    out = ok(
        project.run(
            "try:\n    from autogen.t import f\nexcept ImportError as e:\n    print(e)\n",
            env={"AUTOGEN_HOOK_PROVIDER": "anthropic", "AUTOGEN_HOOK_MODEL": "gpt-4o-mini"},
        )
    )
    assert "Check ANTHROPIC_BASE_URL and the model setting" in out
    assert '"anthropic:claude-sonnet-4-6"' in out


def test_a_rejected_request_is_not_retried(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Status(400, "messages: too long"), Code(GOOD))
    out = ok(
        project.run(
            "try:\n    from autogen.t import f\nexcept ImportError as e:\n    print(type(e).__name__, e)\n",
            env={"AUTOGEN_HOOK_RETRIES": "3"},
        )
    )
    assert out.startswith("ProviderHTTPError openai answered HTTP 400")
    assert "check the model setting" in out
    assert len(llm.chat_requests()) == 1


def test_retry_after_accepts_seconds_milliseconds_and_http_dates() -> None:
    import email.utils
    import time

    import httpx

    from autogen_hook.providers._http import retry_after

    in_ten_seconds = email.utils.formatdate(time.time() + 10, usegmt=True)
    assert retry_after(httpx.Headers({"retry-after": "3"})) == 3.0
    assert retry_after(httpx.Headers({"retry-after-ms": "250", "retry-after": "9"})) == 0.25
    assert 8.0 < (retry_after(httpx.Headers({"retry-after": in_ten_seconds})) or 0) <= 10.0
    assert retry_after(httpx.Headers({"retry-after": "soon"})) is None
    assert retry_after(httpx.Headers({})) is None
